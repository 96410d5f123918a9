using System.Text.Json;
using System.Text.Json.Nodes;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

/// <summary>--arch: presets and config files through every command, and configs TwinTrain cannot build refused in one line.</summary>
public class ArchitectureTests
{
    /// <summary>A small Sequential config in Keras 3's form with the given layers after the InputLayer.</summary>
    static string Config(string layers, string batchShape = "[null, 32, 32, 3]") => $$"""
        {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true, "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": {{batchShape}}, "dtype": "float32", "name": "input_layer"}, "registered_name": null},
          {{layers}}
        ]}, "registered_name": null}
        """;

    const string Conv = """{"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 8, "kernel_size": [3, 3], "activation": "relu"}}""";
    const string Head = """{"class_name": "Flatten", "config": {"name": "flatten"}}, {"class_name": "Dense", "config": {"name": "dense", "units": 10, "activation": "softmax"}}""";

    public static TheoryData<string, string[]> BadConfigs => new()
    {
        { "{ not json", ["not valid JSON"] },
        { Config("""{"class_name": "LSTM", "config": {"name": "lstm", "units": 4}}, """ + Head), ["layer 1 'lstm' (LSTM)", "unknown layer"] },
        { Config("""{"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 8, "kernel_size": 3, "dilation_rate": [2, 2]}}, """ + Head), ["layer 1 'conv2d' (Conv2D)", "'dilation_rate' = [2,2]"] },
        { Config("""{"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 8, "kernel_size": 3, "groups": 2}}, """ + Head), ["layer 1 'conv2d' (Conv2D)", "'groups' = 2"] },
        { Config(Conv + """, {"class_name": "Dense", "config": {"name": "dense", "units": 10}}"""), ["layer 2 'dense' (Dense)", "add a Flatten"] },
        { Config("""{"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 0, "kernel_size": 3}}, """ + Head), ["layer 1 'conv2d' (Conv2D)", "'filters' must be at least 1"] },
        { Config("""{"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 8, "kernel_size": -3}}, """ + Head), ["layer 1 'conv2d' (Conv2D)", "'kernel_size' must be at least 1"] },
        { Config(Conv + """, {"class_name": "Flatten", "config": {"name": "flatten"}}, {"class_name": "Dense", "config": {"name": "huge", "units": 2000000000}}"""), ["layer 3 'huge' (Dense)", "would hold"] },
        { Config(Conv + ", " + Head, "[null, 28, 28, 1]"), ["takes input (None, 28, 28, 1)", "(None, 32, 32, 3)"] },
        { Config(Conv + ", " + Head, "[null, 32]"), ["layer 1 'conv2d' (Conv2D)", "rank 3"] },
        { Config(Conv + """, {"class_name": "Dense", "config": {"name": "d", "units": 10, "kernel_regularizer": {"class_name": "L2"}}}"""), ["layer 2 'd' (Dense)", "kernel_regularizer"] },
        { Config(Conv + """, {"class_name": "Flatten", "config": {"name": "flatten", "made_up_option": 1}}, {"class_name": "Dense", "config": {"name": "dense", "units": 10}}"""), ["layer 2 'flatten' (Flatten)", "'made_up_option' is not supported"] },
        { Config(Conv + ", " + Head).Replace("\"units\": 10", "\"units\": 7"), ["gives 7 outputs", "10 classes"] },
    };

    [Fact]
    public async Task Should_train_a_network_without_a_pytorch_translation_with_keras_and_refuse_it_for_torch_in_one_line()
    {
        // BatchNormalization with center but no scale has no PyTorch module (affine is both or neither): a matter for
        // the PyTorch-style frameworks only, not for the architecture.
        using var folder = new TempFolder();
        string file = folder["model.json"];
        File.WriteAllText(file, Config(Conv + """, {"class_name": "BatchNormalization", "config": {"name": "bn", "center": true, "scale": false}}, """ + Head));
        string[] Train(string framework) => ["train", "-f", framework, "--arch", file, "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder,
            "--epochs", "1", "--limit-train", "128", "--limit-test", "64", "--threads", "1", "--out", folder[framework]];
        var (code, _, error) = await Run(Train("keras"));
        Assert.True(code == 0, error);
        (code, _, error) = await Run(Train("torch"));
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Equal($"error: {file}: Layer 'bn' (BatchNormalization): center=True with scale=False has no PyTorch equivalent (affine is both or neither).", error.Trim());
        // diff's float64 reference is TorchSharp: with no PyTorch translation there is none, for keras alone too.
        (code, _, error) = await Run("diff", "--arch", file, "--frameworks", "keras", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--threads", "1", "-o", folder["diff"]);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Equal($"error: {file}: Layer 'bn' (BatchNormalization): center=True with scale=False has no PyTorch equivalent (affine is both or neither).", error.Trim());
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public async Task Should_refuse_a_config_it_cannot_build_in_one_line_naming_the_file_and_the_layer(string json, string[] expected)
    {
        using var folder = new TempFolder();
        string file = Path.Combine(folder.Path, "model.json"), output = Path.Combine(folder.Path, "run");
        File.WriteAllText(file, json);
        foreach (string[] command in new[]
        {
            new[] { "train", "-f", "keras", "--arch", file, "--data", SharedData.ArchivePath, "--out", output },
            new[] { "compare", "--arch", file, "--data", SharedData.ArchivePath, "--out", output },
            new[] { "bench", "--arch", file, "--steps", "1", "--rounds", "1" },
            new[] { "diff", "--arch", file, "--data", SharedData.ArchivePath, "--out", output },
        })
        {
            var (code, _, error) = await Run(command);
            Assert.Equal(CommandRunner.Failure, code);
            Assert.Single(error.Trim().Split('\n'));
            Assert.Contains(file, error);
            foreach (string part in expected) Assert.Contains(part, error);
            Assert.DoesNotContain("   at ", error);
            Assert.False(Directory.Exists(output), "no run folder is left behind");
        }
    }

    [Fact]
    public async Task Should_refuse_an_unknown_preset_naming_the_presets()
    {
        var (code, _, error) = await Run("train", "-f", "keras", "--arch", "resnet50", "--data", SharedData.ArchivePath);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("resnet50", error);
        Assert.Contains("study, cifar-bn", error);
    }

    [Theory]
    [InlineData("keras")]
    [InlineData("torch")]
    public async Task Should_train_cifar_bn_on_real_data_and_evaluate_export_and_convert_it(string framework)
    {
        using var folder = new TempFolder();
        string run = Path.Combine(folder.Path, "run");
        var (code, output, error) = await Run("train", "-f", framework, "--arch", "cifar-bn", "--data", SharedData.ArchivePath,
            "--epochs", "1", "--limit-train", "2000", "--limit-test", "500", "--threads", "2", "--out", run);
        Assert.True(code == 0, error);
        Assert.Contains("cifar-bn: 95,434 parameters", output);
        using (var runJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "run.json"))))
        {
            var model = runJson.RootElement.GetProperty("model");
            Assert.Equal(95434, model.GetProperty("parameters").GetInt64());
            Assert.Equal(94986, model.GetProperty("trainable_parameters").GetInt64());
            var settings = model.GetProperty("translations").EnumerateArray().Select(t => t.GetProperty("setting").GetString()).ToArray();
            Assert.Contains("momentum", settings);
            Assert.Contains("epsilon", settings);
            // The defaults that differ are the settings read from the built framework, not prose in the model section.
            Assert.Contains(runJson.RootElement.GetProperty("settings").EnumerateArray(), t => t.GetProperty("setting").GetString() == "Adam epsilon");
            Assert.Equal("cifar-bn", runJson.RootElement.GetProperty("config").GetProperty("arch").GetString());
            // The run's own memory, apart from what the process held before it (other frameworks' memory included).
            long own = runJson.RootElement.GetProperty("run_memory_bytes").GetInt64(), peak = runJson.RootElement.GetProperty("peak_memory_bytes").GetInt64();
            Assert.InRange(own, 0, peak);
            Assert.Equal(Experiment.RunSummary.AddedMemory, runJson.RootElement.GetProperty("run_memory_measure").GetString());
        }
        Assert.Contains("MiB for the run (peak above what the process held when the run began); process peak", output);
        Assert.Equal("Sequential", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(run, "model.json")))!["class_name"]);

        (code, output, error) = await Run("evaluate", "--model", run, "--data", SharedData.ArchivePath, "--limit-test", "200");
        Assert.True(code == 0, error);
        Assert.Contains("200 test images", output);

        (code, output, error) = await Run("export", "--model", run, "--out", Path.Combine(folder.Path, "model.onnx"),
            "--check-data", SharedData.ArchivePath, "--check-images", "100");
        Assert.True(code == 0, error);
        Assert.Contains("same class for 100/100", output);

        string converted = Path.Combine(folder.Path, "converted", framework == "keras" ? "model.pt" : "model.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(converted)!);
        (code, output, error) = await Run("convert", "--model", run, "--to", framework == "keras" ? "pytorch" : "keras", "--out", converted);
        Assert.True(code == 0, error);
        double within = double.Parse(output.Split("within ")[1].TrimEnd('.', '\n', ' '), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(within < 1e-5, output);

        // Resume continues with the run's own architecture.
        (code, output, error) = await Run("train", "--resume", run, "--epochs", "2", "--data", SharedData.ArchivePath);
        Assert.True(code == 0, error);
        Assert.Contains("(cifar-bn)", output);
    }

    [Fact]
    public async Task Should_give_the_pytorch_side_its_own_batch_normalization_constants_unless_aligned()
    {
        // Native: nn.BatchNorm2d(c) as a PyTorch user writes it (momentum 0.1, eps 1e-5; torch/nn/modules/batchnorm.py's
        // defaults), where the Keras config says momentum 0.99 and epsilon 1e-3 (keras/src/layers/normalization/batch_normalization.py).
        using var folder = new TempFolder();
        string native = Path.Combine(folder.Path, "native"), aligned = Path.Combine(folder.Path, "aligned");
        string[] Train(string output, params string[] more) => ["train", "-f", "torch", "--arch", "cifar-bn", "--data", SharedData.ArchivePath,
            "--epochs", "1", "--limit-train", "640", "--limit-test", "200", "--threads", "2", "--out", output, .. more];
        var (code, _, error) = await Run(Train(native));
        Assert.True(code == 0, error);
        (code, _, error) = await Run(Train(aligned, "--align", "bn"));
        Assert.True(code == 0, error);

        static string Setting(string run, string scope, string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["settings"]!.AsArray()
            .Single(s => (string?)s!["scope"] == scope && (string?)s["setting"] == name)!["value"]!.GetValue<string>();
        Assert.Equal("0.9 (momentum=0.1)", Setting(native, "batch_normalization", "momentum (weight of the old running value)"));
        Assert.Equal("1E-05", Setting(native, "batch_normalization", "epsilon"));
        Assert.Equal("0.99 (momentum=0.01)", Setting(aligned, "batch_normalization", "momentum (weight of the old running value)"));
        Assert.Equal("0.001", Setting(aligned, "batch_normalization", "epsilon"));
        Assert.Equal("aligned", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(aligned, "run.json")))!["config"]!["batch_norm"]);

        // The native run's folder says what it trained: the config with PyTorch's constants, which evaluate then uses.
        var layers = JsonNode.Parse(File.ReadAllText(Path.Combine(native, "model.json")))!["config"]!["layers"]!.AsArray()
            .Where(l => (string?)l!["class_name"] == "BatchNormalization").ToList();
        Assert.NotEmpty(layers);
        Assert.All(layers, l => Assert.Equal((0.9, 1e-5), (l!["config"]!["momentum"]!.GetValue<double>(), l["config"]!["epsilon"]!.GetValue<double>())));
        (code, string output, error) = await Run("evaluate", "--model", native, "--data", SharedData.ArchivePath, "--limit-test", "200");
        Assert.True(code == 0, error);
        Assert.Contains("200 test images", output);
    }
}
