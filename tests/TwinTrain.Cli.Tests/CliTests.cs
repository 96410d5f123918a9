using System.Security.Cryptography;
using System.Text.Json;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Cli.Tests;

public class CliTests
{
    static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await CommandRunner.RunAsync(CliApp.CreateRoot(), args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Should_reject_an_unknown_option_naming_it()
    {
        var (code, _, error) = await Run("train", "--framework", "torch", "--epochz", "3");
        Assert.NotEqual(0, code);
        Assert.Contains("--epochz", error);
    }

    [Fact]
    public async Task Should_reject_an_unknown_framework()
    {
        var (code, _, error) = await Run("train", "--framework", "jax");
        Assert.NotEqual(0, code);
        Assert.Contains("jax", error);
    }

    [Fact]
    public async Task Should_tell_how_to_get_cifar10_when_the_data_path_is_missing()
    {
        var (code, _, error) = await Run("train", "-f", "torch", "--data", "/nonexistent/cifar-10-binary.tar.gz");
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("/nonexistent/cifar-10-binary.tar.gz", error);
        Assert.Contains("twintrain download", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task Should_reject_an_unknown_optimizer_and_momentum_without_sgd()
    {
        var (code, _, error) = await Run("train", "-f", "torch", "--optimizer", "rmsprop");
        Assert.NotEqual(0, code);
        Assert.Contains("rmsprop", error);

        (code, _, error) = await Run("train", "-f", "keras", "--data", SharedData.ArchivePath, "--momentum", "0.9");
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("--momentum applies to --optimizer sgd only", error);
    }

    [Fact]
    public async Task Should_reject_bad_values_with_a_clear_message()
    {
        var (code, _, error) = await Run("train", "-f", "torch", "--data", SharedData.ArchivePath, "--batch-size", "0");
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("--batch-size must be at least 1", error);
    }

    [Theory]
    [InlineData("torch", "weights.torchsharp.dat", "libtorch")]
    [InlineData("keras", "keras-model.zip", "engine")]
    public async Task Should_train_on_real_data_and_write_the_run_files(string framework, string weightsFile, string versionKey)
    {
        using var folder = new TempFolder();
        var (code, output, error) = await Run("train", "--framework", framework, "--data", SharedData.ArchivePath,
            "--cache-dir", SharedData.CacheFolder, "--epochs", "2", "--limit-train", "640", "--limit-test", "200",
            "--threads", "1", "--out", folder.Path);

        Assert.True(code == 0, error);
        Assert.Contains("Epoch 2/2", output);
        Assert.Matches(@"10/10 ━{20} \d+s \d+ms/step - accuracy: [\d.]+ - loss: [\d.]+ - val_accuracy: [\d.]+ - val_loss: [\d.]+", output);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(folder.Path, "history.csv")).Length);
        Assert.True(new FileInfo(Path.Combine(folder.Path, weightsFile)).Length > 167_562 * 4);

        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "run.json")));
        Assert.Equal("completed", run.RootElement.GetProperty("status").GetString());
        Assert.Equal(framework, run.RootElement.GetProperty("framework").GetString());
        Assert.Equal(640, run.RootElement.GetProperty("data").GetProperty("train_images").GetInt32());
        Assert.Equal(167_562, run.RootElement.GetProperty("parameters").GetInt64());
        Assert.True(run.RootElement.GetProperty("versions").TryGetProperty(versionKey, out _));
    }

    [Fact]
    public async Task Should_compare_both_frameworks_over_seeds_and_resume_where_it_stopped()
    {
        using var folder = new TempFolder();
        string[] args = ["compare", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--seeds", "0,1",
            "--epochs", "1", "--limit-train", "256", "--limit-test", "100", "--threads", "1", "--out", folder.Path];
        var (code, output, error) = await Run(args);
        Assert.True(code == 0, error + output);
        Assert.Contains("keras − torch:", output);
        Assert.Contains("Welch t =", output);
        foreach (string run in new[] { "keras-seed0", "keras-seed1", "torch-seed0", "torch-seed1" })
            Assert.True(File.Exists(Path.Combine(folder.Path, "runs", run, "history.csv")), run);

        using (var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "results.json"))))
        {
            var root = results.RootElement;
            Assert.Equal(4, root.GetProperty("runs").GetArrayLength());
            Assert.Equal(2, root.GetProperty("summaries").GetArrayLength());
            Assert.True(root.GetProperty("accuracy_difference").GetProperty("degrees_of_freedom").GetDouble() > 0);
            Assert.True(root.GetProperty("warmup_seconds").GetProperty("keras").GetDouble() > 0);
        }

        // The report: Markdown, a self-contained HTML page, and every chart as a real PNG and SVG.
        string md = File.ReadAllText(Path.Combine(folder.Path, "report.md"));
        Assert.Contains("68.78 %", md);
        Assert.Contains("Welch's t", md);
        Assert.Contains("class StudyCnn", md);
        Assert.Contains("new Conv2D(32, (3, 3)", md);
        Assert.Contains("summed over its 4 batches", md);
        string html = File.ReadAllText(Path.Combine(folder.Path, "report.html"));
        Assert.DoesNotContain("http", html);
        Assert.Equal(7, System.Text.RegularExpressions.Regex.Matches(html, "src=\"data:image/png;base64,").Count);
        foreach (string chart in new[] { "accuracy", "loss", "loss-log", "epoch-seconds", "confusion-keras", "confusion-torch", "per-class-accuracy" })
        {
            byte[] png = File.ReadAllBytes(Path.Combine(folder.Path, "charts", chart + ".png"));
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
            Assert.True(png.Length > 10_000, $"{chart}.png is only {png.Length} bytes");
            string svg = File.ReadAllText(Path.Combine(folder.Path, "charts", chart + ".svg"));
            Assert.Contains("<svg", svg);
            Assert.True(System.Text.RegularExpressions.Regex.Matches(svg, "<path|<text").Count > 20, $"{chart}.svg has little content");
        }

        // Again with the same folder: nothing is retrained.
        (code, output, _) = await Run(args);
        Assert.Equal(0, code);
        Assert.Equal(4, output.Split('\n').Count(l => l.Contains("already done")));
        Assert.DoesNotContain("Epoch 1/1", output);
    }

    [Fact]
    public async Task Should_reject_bad_seed_lists()
    {
        var (code, _, error) = await Run("compare", "--data", SharedData.ArchivePath, "--seeds", "0,x");
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("'x' is not a whole number", error);
    }

    [Fact]
    public async Task Should_print_the_benchmark_with_the_ratio_line_last()
    {
        var (code, output, error) = await Run("bench", "--steps", "2", "--rounds", "1", "--batch-size", "16", "--threads", "1");
        Assert.True(code == 0, error);
        Assert.Contains("GEMM micro-benchmark", output);
        Assert.Matches(@"ratio keras/torch: train \d+\.\d\dx, eval \d+\.\d\dx$", output.TrimEnd());
    }

    [Fact]
    public async Task Should_download_from_a_loopback_server_and_verify_the_md5()
    {
        using var folder = new TempFolder();
        byte[] archive = RandomNumberGenerator.GetBytes(300_000);
        using var server = new LoopbackServer(archive, supportRanges: true);
        string md5 = Convert.ToHexStringLower(MD5.HashData(archive));

        var (code, output, error) = await Run("download", "--dir", folder.Path, "--url", server.Url.ToString(), "--md5", md5);
        Assert.True(code == 0, error);
        Assert.Contains("Verified and saved", output);
        Assert.Equal(archive, File.ReadAllBytes(Path.Combine(folder.Path, "cifar-10-binary.tar.gz")));

        var (badCode, _, badError) = await Run("download", "--dir", folder.Path + "/other", "--url", server.Url.ToString());
        Assert.Equal(CommandRunner.Failure, badCode);
        Assert.Contains("does not match the expected c32a1d4ab5d03f1284b67883e8d87530", badError);
    }
}

public class ModelCommandTests
{
    static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await CommandRunner.RunAsync(CliApp.CreateRoot(), args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    static async Task<string> TrainTiny(string framework, string folder)
    {
        var (code, _, error) = await Run("train", "-f", framework, "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder,
            "--epochs", "1", "--limit-train", "640", "--limit-test", "200", "--threads", "1", "--out", folder);
        Assert.True(code == 0, error);
        return folder;
    }

    [Theory]
    [InlineData("keras")]
    [InlineData("torch")]
    public async Task Should_evaluate_a_saved_model_to_the_accuracy_its_run_recorded(string framework)
    {
        using var folder = new TempFolder();
        await TrainTiny(framework, folder.Path);
        var (code, output, error) = await Run("evaluate", "--model", folder.Path, "--data", SharedData.ArchivePath, "--limit-test", "200", "--json");
        Assert.True(code == 0, error);
        using var evaluation = JsonDocument.Parse(output);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "run.json")));
        Assert.Equal(run.RootElement.GetProperty("test_accuracy").GetDouble(), evaluation.RootElement.GetProperty("accuracy").GetDouble(), 6);
        Assert.Equal(run.RootElement.GetProperty("test_loss").GetDouble(), evaluation.RootElement.GetProperty("loss").GetDouble(), 3);
        Assert.Equal(200, evaluation.RootElement.GetProperty("confusion_matrix").EnumerateArray().Sum(r => r.EnumerateArray().Sum(c => c.GetInt32())));
    }

    [Fact]
    public async Task Should_predict_top_3_for_images_of_any_size_and_report_unreadable_ones()
    {
        using var folder = new TempFolder();
        await TrainTiny("keras", Path.Combine(folder.Path, "run"));
        // A real test image, enlarged to 96x80, as PNG; and a file that is not an image.
        var image = SharedData.Cifar10.Test.Image(0).ToArray();
        var big = Experiment.Models.ImageInput.Resize(image, 32, 32, 96, 80);
        string png = Path.Combine(folder.Path, "photo.png");
        using (var stream = File.Create(png))
            new StbImageWriteSharp.ImageWriter().WritePng(big, 96, 80, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream);
        string bad = Path.Combine(folder.Path, "notes.jpg");
        File.WriteAllText(bad, "not an image");

        var (code, output, error) = await Run("predict", "--model", Path.Combine(folder.Path, "run"), png, bad);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Matches(@"photo\.png: \w+ \d+\.\d%, \w+ \d+\.\d%, \w+ \d+\.\d%", output);
        Assert.Contains("notes.jpg", error);
        Assert.Contains("cannot decode", error);
    }

    [Fact]
    public async Task Should_reject_missing_truncated_and_foreign_model_files_clearly()
    {
        using var folder = new TempFolder();
        var (code, _, error) = await Run("evaluate", "--model", folder.Path, "--data", SharedData.ArchivePath);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("no trained model here", error);

        string torchFile = Path.Combine(folder.Path, "weights.torchsharp.dat");
        File.WriteAllBytes(torchFile, new byte[100]);
        (code, _, error) = await Run("evaluate", "--model", torchFile, "--data", SharedData.ArchivePath);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("cannot load the torch model", error);
        Assert.DoesNotContain("   at ", error);

    }

    [Fact]
    public async Task Should_convert_a_keras_run_to_pytorch_and_torch_and_evaluate_them_the_same()
    {
        using var folder = new TempFolder();
        string run = await TrainTiny("keras", Path.Combine(folder.Path, "run"));
        string pt = Path.Combine(folder.Path, "model.pt");
        var (code, output, error) = await Run("convert", "--model", run, "--to", "pytorch", "--out", pt);
        Assert.True(code == 0, error);
        Assert.Contains("give probabilities within", output);

        var (_, kerasEval, _) = await Run("evaluate", "--model", run, "--data", SharedData.ArchivePath, "--limit-test", "200", "--json");
        var (_, ptEval, ptError) = await Run("evaluate", "--model", pt, "--data", SharedData.ArchivePath, "--limit-test", "200", "--json");
        Assert.True(ptError.Length == 0, ptError);
        using var a = JsonDocument.Parse(kerasEval);
        using var b = JsonDocument.Parse(ptEval);
        Assert.Equal("torch", b.RootElement.GetProperty("framework").GetString());
        Assert.Equal(a.RootElement.GetProperty("accuracy").GetDouble(), b.RootElement.GetProperty("accuracy").GetDouble());

        (code, _, error) = await Run("convert", "--model", run, "--to", "torch", "--out", Path.Combine(folder.Path, "model.pt"));
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("ends in .dat", error);
    }

    [Fact]
    public async Task Should_export_to_onnx_and_predict_the_same_classes_with_onnx_runtime()
    {
        using var folder = new TempFolder();
        string run = await TrainTiny("torch", Path.Combine(folder.Path, "run"));
        string onnx = Path.Combine(folder.Path, "model.onnx");
        var (code, output, error) = await Run("export", "--model", run, "--out", onnx);
        Assert.True(code == 0, error);
        Assert.Contains("input \"input\" (batch, 3, 32, 32), output \"logits\"", output);
        Assert.True(new FileInfo(onnx).Length > 167_562 * 4);

        string png = Path.Combine(folder.Path, "cat.png");
        using (var stream = File.Create(png))
            new StbImageWriteSharp.ImageWriter().WritePng(SharedData.Cifar10.Test.Image(3500).ToArray(), 32, 32, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream);
        var (_, native, _) = await Run("predict", "--model", run, png);
        var (onnxCode, viaOnnx, onnxError) = await Run("predict", "--model", run, "--runtime", "onnx", png);
        Assert.True(onnxCode == 0, onnxError);
        Assert.Equal(native.Split(' ')[1], viaOnnx.Split(' ')[1]); // the same top class
    }
}

public class ResumeTests
{
    static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await CommandRunner.RunAsync(CliApp.CreateRoot(), args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    static string[] Train(string framework, string folder, int epochs) =>
        ["train", "-f", framework, "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--epochs", epochs.ToString(),
         "--limit-train", "384", "--limit-test", "100", "--threads", "2", "--seed", "3", "--out", folder];

    static float[][] TorchWeights(string folder)
    {
        using var model = new TwinTrain.Torch.StudyCnn();
        model.load(Path.Combine(folder, "weights.torchsharp.dat"));
        return model.parameters().Select(p => p.data<float>().ToArray()).ToArray();
    }

    [Theory]
    [InlineData("keras")]
    [InlineData("torch")]
    public async Task Should_give_the_same_weights_for_two_epochs_straight_and_one_plus_one_resumed(string framework)
    {
        using var folder = new TempFolder();
        string straight = Path.Combine(folder.Path, "straight"), resumed = Path.Combine(folder.Path, "resumed");
        Assert.Equal(0, (await Run(Train(framework, straight, 2))).Code);
        Assert.Equal(0, (await Run(Train(framework, resumed, 1))).Code);
        var (code, output, error) = await Run("train", "--resume", resumed, "--epochs", "2", "--cache-dir", SharedData.CacheFolder);
        Assert.True(code == 0, error);
        Assert.Contains("Resuming " + framework, output);
        Assert.Contains("Epoch 2/2", output);
        Assert.DoesNotContain("Epoch 1/2", output);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(resumed, "history.csv")).Length);

        if (framework == "keras")
        {
            using var a = TwinTrain.Keras.Sequential.Load(Path.Combine(straight, "keras-model.zip"));
            using var b = TwinTrain.Keras.Sequential.Load(Path.Combine(resumed, "keras-model.zip"));
            var (wa, wb) = (a.GetWeights(), b.GetWeights());
            for (int i = 0; i < wa.Length; i++) Assert.Equal(wa[i], wb[i]); // bitwise
        }
        else
        {
            var (wa, wb) = (TorchWeights(straight), TorchWeights(resumed));
            for (int i = 0; i < wa.Length; i++)
                for (int j = 0; j < wa[i].Length; j++) Assert.True(Math.Abs(wa[i][j] - wb[i][j]) < 1e-5, $"parameter {i}[{j}]");
        }
    }

    [Fact]
    public async Task Should_refuse_to_resume_a_complete_run_a_foreign_folder_and_a_damaged_checkpoint()
    {
        using var folder = new TempFolder();
        string run = Path.Combine(folder.Path, "run");
        Assert.Equal(0, (await Run(Train("keras", run, 1))).Code);

        var (code, _, error) = await Run("train", "--resume", run, "--cache-dir", SharedData.CacheFolder);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("already has 1 epoch(s); pass --epochs N", error);

        (code, _, error) = await Run("train", "--resume", folder.Path);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("not a run folder", error);

        string model = Path.Combine(run, "keras-model.zip");
        File.WriteAllBytes(model, File.ReadAllBytes(model)[..3000]);
        (code, _, error) = await Run("train", "--resume", run, "--epochs", "2", "--cache-dir", SharedData.CacheFolder);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("keras-model.zip", error);
        Assert.Contains("cannot load the model", error);
    }
}
