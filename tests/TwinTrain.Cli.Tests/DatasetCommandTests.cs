using System.Text.Json;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

/// <summary>The data set as a parameter, on the real Fashion-MNIST Debian ships (apt-get install dataset-fashion-mnist).</summary>
public class DatasetCommandTests
{
    const string FashionMnist = "/usr/share/datasets/fashion-mnist";

    static void RequireFashionMnist()
    {
        if (!Directory.Exists(FashionMnist))
            throw new DirectoryNotFoundException($"These tests train on the real Fashion-MNIST in {FashionMnist} (apt-get install dataset-fashion-mnist); it is missing.");
    }

    [Theory]
    [InlineData("keras")]
    [InlineData("torch")]
    public async Task Should_train_on_fashion_mnist_far_above_chance_and_record_the_data_set(string framework)
    {
        RequireFashionMnist();
        using var folder = new TempFolder();
        var (code, output, error) = await Run("train", "-f", framework, "--dataset", "fashion-mnist", "--cache-dir", SharedData.CacheFolder,
            "--epochs", "1", "--limit-train", "2000", "--limit-test", "500", "--threads", "1", "--out", folder.Path);
        Assert.True(code == 0, error + output);
        Assert.Contains($"Loading fashion-mnist from {FashionMnist}", output);

        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "run.json")));
        var data = run.RootElement.GetProperty("data");
        Assert.Equal("fashion-mnist", data.GetProperty("dataset").GetString());
        Assert.Equal([28, 28, 1], data.GetProperty("image_shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("Ankle boot", data.GetProperty("class_names")[9].GetString());
        Assert.Equal(121_930, run.RootElement.GetProperty("parameters").GetInt64());
        // Chance is 10%; the study's CNN reaches about 65% after one epoch over 2,000 images.
        double accuracy = run.RootElement.GetProperty("test_accuracy").GetDouble();
        Assert.True(accuracy > 0.5, $"test accuracy {accuracy:P1} after one epoch");
        var matrix = run.RootElement.GetProperty("confusion_matrix");
        Assert.Equal(10, matrix.GetArrayLength());
        Assert.Equal(500, matrix.EnumerateArray().Sum(row => row.EnumerateArray().Sum(c => c.GetInt32())));

        // evaluate takes the data set from the run: the same 500 test images, the same accuracy, its class names.
        var (evaluateCode, evaluation, evaluateError) = await Run("evaluate", "-m", folder.Path, "--limit-test", "500", "--json");
        Assert.True(evaluateCode == 0, evaluateError);
        using var evaluated = JsonDocument.Parse(evaluation);
        Assert.Equal(accuracy, evaluated.RootElement.GetProperty("accuracy").GetDouble(), 6);
        Assert.Equal("Ankle boot", evaluated.RootElement.GetProperty("class_names")[9].GetString());
        Assert.True(evaluated.RootElement.GetProperty("per_class_accuracy").TryGetProperty("T-shirt/top", out _));

        // predict names Fashion-MNIST's classes for a grey 28x28 image (a test image as a PNG: the first is an ankle boot).
        var (test, _) = Data.DatasetLoader.Load(FashionMnist, SharedData.CacheFolder);
        string png = Path.Combine(folder.Path, "boot.png");
        File.WriteAllBytes(png, GreyPng(test.Test.Image(0).ToArray(), 28, 28));
        var (predictCode, predicted, predictError) = await Run("predict", "-m", folder.Path, png);
        Assert.True(predictCode == 0, predictError);
        Assert.Matches(@"boot\.png: (T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot) \d+\.\d%, ", predicted);

        // export takes the model's own shape, and the check runs it on Fashion-MNIST's test images.
        var (exportCode, exported, exportError) = await Run("export", "-m", folder.Path, "--out", Path.Combine(folder.Path, "model.onnx"),
            "--check-data", FashionMnist, "--check-images", "200");
        Assert.True(exportCode == 0, exportError);
        Assert.Contains(framework == "keras" ? "input \"input\" (batch, 28, 28, 1), output \"probabilities\" (batch, 10)"
            : "input \"input\" (batch, 1, 28, 28), output \"logits\" (batch, 10)", exported);
        Assert.Contains("same class for 200/200", exported);

        // convert carries the fitted network to the other layouts: the converted file, with its model.json, predicts the same.
        string other = framework == "keras" ? "pytorch" : "keras";
        string converted = Path.Combine(folder.Path, "converted", other == "keras" ? "model.keras" : "model.pt");
        Directory.CreateDirectory(Path.GetDirectoryName(converted)!);
        var (convertCode, conversion, convertError) = await Run("convert", "-m", folder.Path, "--to", other, "--out", converted);
        Assert.True(convertCode == 0, convertError);
        var within = System.Text.RegularExpressions.Regex.Match(conversion, @"give probabilities within (\d\.\dE[-+]\d+)");
        Assert.True(within.Success && double.Parse(within.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 1e-4, conversion);
        var (againCode, again, againError) = await Run("predict", "-m", converted, png);
        Assert.True(againCode == 0, againError);
        Assert.Equal(predicted.Split(':')[1].Split(',')[0], again.Split(':')[1].Split(',')[0]);
    }

    /// <summary>A grey image as an 8-bit PNG, as a user's scanner or Pillow's save would write it.</summary>
    static byte[] GreyPng(byte[] grey, int width, int height)
    {
        using var stream = new MemoryStream();
        new StbImageWriteSharp.ImageWriter().WritePng(grey, width, height, StbImageWriteSharp.ColorComponents.Grey, stream);
        return stream.ToArray();
    }

    [Fact]
    public async Task Should_resume_a_fashion_mnist_run_on_the_data_set_it_recorded()
    {
        RequireFashionMnist();
        using var folder = new TempFolder();
        string[] limits = ["--cache-dir", SharedData.CacheFolder, "--limit-train", "640", "--limit-test", "100", "--threads", "1"];
        var (code, output, error) = await Run(["train", "-f", "keras", "--dataset", "fashion-mnist", "--epochs", "1", "--out", folder.Path, .. limits]);
        Assert.True(code == 0, error + output);
        // Neither --data nor --dataset: the run's own record says where and what the data is.
        (code, output, error) = await Run(["train", "--resume", folder.Path, "--epochs", "2", .. limits]);
        Assert.True(code == 0, error + output);
        Assert.Contains($"Loading fashion-mnist from {FashionMnist}", output);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(folder.Path, "history.csv")).Length);
    }

    [Fact]
    public async Task Should_compare_on_fashion_mnist_with_its_class_names_and_without_the_studys_cifar10_figures()
    {
        RequireFashionMnist();
        using var folder = new TempFolder();
        var (code, output, error) = await Run("compare", "--data", FashionMnist, "--cache-dir", SharedData.CacheFolder, "--seeds", "0,1",
            "--epochs", "1", "--limit-train", "640", "--limit-test", "200", "--threads", "1", "--out", folder.Path);
        Assert.True(code == 0, error + output);
        Assert.DoesNotContain("official CIFAR-10", output);
        string report = File.ReadAllText(Path.Combine(folder.Path, "report.md"));
        Assert.StartsWith("# TwinTrain: Keras-style vs PyTorch-style on Fashion-MNIST", report);
        Assert.DoesNotContain("Study: TensorFlow/Keras", report);
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "results.json")));
        Assert.Equal("fashion-mnist", results.RootElement.GetProperty("data").GetProperty("dataset").GetString());
        Assert.True(File.Exists(Path.Combine(folder.Path, "charts", "confusion-keras.png")));
    }

    [Fact]
    public async Task Should_refuse_a_config_file_that_does_not_fit_the_data_set_in_one_line()
    {
        RequireFashionMnist();
        using var folder = new TempFolder();
        TwinTrain.Experiment.Architectures.Architecture.Study.WriteTo(folder.Path);
        string config = Path.Combine(folder.Path, "model.json");
        var (code, _, error) = await Run("train", "-f", "keras", "--dataset", "fashion-mnist", "--arch", config, "--epochs", "1", "--out", folder["run"]);
        Assert.Equal(2, code);
        Assert.Equal($"error: {config}: the model takes input (None, 32, 32, 3) but the data's images are (None, 28, 28, 1); set the InputLayer's batch_shape to [null, 28, 28, 1].", error.Trim());
    }

    [Fact]
    public async Task Should_train_on_an_image_folder_made_grey_and_smaller_and_evaluate_predict_and_export_it_as_recorded()
    {
        // The shared CIFAR-10 JPEGs made 24x24 grey: no longer CIFAR-10's shape, so an image folder of its own.
        using var folder = new TempFolder();
        string[] images = ["--image-size", "24,24", "--color", "grayscale"];
        var (code, output, error) = await Run(["train", "-f", "keras", "--data", SharedData.ArchivePath, .. images, "--cache-dir", SharedData.CacheFolder,
            "--epochs", "3", "--limit-train", "10000", "--limit-test", "500", "--threads", "1", "--out", folder.Path]);
        Assert.True(code == 0, error + output);
        Assert.Contains("of cifar10-jpeg (24x24x1, 10 classes)", output);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "run.json")));
        var data = run.RootElement.GetProperty("data");
        Assert.Equal("images", data.GetProperty("dataset").GetString());
        Assert.Equal("cifar10-jpeg", data.GetProperty("title").GetString());
        Assert.Equal([24, 24, 1], data.GetProperty("image_shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([24, 24], data.GetProperty("image_size").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("grayscale", data.GetProperty("color").GetString());
        Assert.Equal("truck", data.GetProperty("class_names")[9].GetString());
        // The study's CNN on 24x24x1: (24-2)/2 = 11, (11-2)/2 = 4, a Flatten of 4 x 4 x 64 = 1,024 wide.
        Assert.Equal(320 + 18_496 + 1_024 * 64 + 64 + 650, run.RootElement.GetProperty("parameters").GetInt64());
        double accuracy = run.RootElement.GetProperty("test_accuracy").GetDouble();
        Assert.True(accuracy > 0.3, $"test accuracy {accuracy:P1} (chance 10%)");

        // evaluate reads the same images again from the run's record: the source, the size and the colour.
        var (evaluateCode, evaluation, evaluateError) = await Run("evaluate", "-m", folder.Path, "--limit-test", "500", "--json");
        Assert.True(evaluateCode == 0, evaluateError);
        using (var evaluated = JsonDocument.Parse(evaluation))
            Assert.Equal(accuracy, evaluated.RootElement.GetProperty("accuracy").GetDouble(), 6);

        // predict makes a colour JPEG of any size grey and 24x24.
        string jpeg = Path.Combine(folder.Path, "photo.jpg");
        var colour = Enumerable.Range(0, 64 * 48 * 3).Select(i => (byte)(i * 7 % 256)).ToArray();
        using (var stream = File.Create(jpeg)) new StbImageWriteSharp.ImageWriter().WriteJpg(colour, 64, 48, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream, 90);
        var (predictCode, predicted, predictError) = await Run("predict", "-m", folder.Path, jpeg);
        Assert.True(predictCode == 0, predictError);
        Assert.Matches(@"photo\.jpg: (airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck) \d+\.\d%, ", predicted);

        var (exportCode, exported, exportError) = await Run("export", "-m", folder.Path, "--out", Path.Combine(folder.Path, "model.onnx"),
            "--check-data", SharedData.ArchivePath, "--check-images", "200");
        Assert.True(exportCode == 0, exportError);
        Assert.Contains("input \"input\" (batch, 24, 24, 1), output \"probabilities\" (batch, 10)", exported);
        Assert.Contains("same class for 200/200", exported);
    }

    /// <summary>A CIFAR-100 binary release (train.bin, test.bin: coarse label, fine label, 3,072 pixels per record) of random images.</summary>
    static string WriteCifar100(string folder, int train, int test)
    {
        string root = Path.Combine(folder, "cifar-100-binary");
        Directory.CreateDirectory(root);
        var random = new Random(7);
        foreach (var (name, count) in new[] { ("train.bin", train), ("test.bin", test) })
        {
            var bytes = new byte[count * 3074];
            random.NextBytes(bytes);
            for (int i = 0; i < count; i++)
            {
                bytes[i * 3074 + 1] = (byte)(i % 100);
                bytes[i * 3074] = (byte)(i % 20);
            }
            File.WriteAllBytes(Path.Combine(root, name), bytes);
        }
        return root;
    }

    [Fact]
    public async Task Should_compare_on_cifar100_with_a_readable_100_class_report_and_train_on_its_coarse_labels()
    {
        using var folder = new TempFolder();
        string data = WriteCifar100(folder["data"], train: 400, test: 300);
        var (code, output, error) = await Run("compare", "--data", data, "--no-cache", "--seeds", "0", "--epochs", "1",
            "--threads", "1", "--out", folder["compare"]);
        Assert.True(code == 0, error + output);
        Assert.Contains("Loading cifar100 from", output);
        using (var run = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(folder["compare"], "run.json", SearchOption.AllDirectories)[0])))
        {
            // The study's CNN with a 100-unit last layer: 167,562 - 650 + 64 x 100 + 100 = 173,412 (the issue's figure).
            Assert.Equal(173_412, run.RootElement.GetProperty("parameters").GetInt64());
            Assert.Equal(100, run.RootElement.GetProperty("confusion_matrix").GetArrayLength());
        }
        string report = File.ReadAllText(Path.Combine(folder["compare"], "report.md"));
        Assert.Contains("# TwinTrain: Keras-style vs PyTorch-style on CIFAR-100", report);
        Assert.Matches(@"Of the 100 classes, the 10 hardest \(accuracy % for keras / torch\): \w+ \(\d+ / \d+\)", report);
        Assert.True(File.Exists(Path.Combine(folder["compare"], "charts", "confusion-keras.png")));
        Assert.True(File.Exists(Path.Combine(folder["compare"], "charts", "per-class-accuracy.svg")));

        (code, output, error) = await Run("train", "-f", "torch", "--data", data, "--labels", "coarse", "--no-cache", "--epochs", "1",
            "--threads", "1", "--out", folder["coarse"]);
        Assert.True(code == 0, error + output);
        using (var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder["coarse"], "run.json"))))
        {
            Assert.Equal("cifar100-coarse", run.RootElement.GetProperty("data").GetProperty("dataset").GetString());
            Assert.Equal("vehicles_2", run.RootElement.GetProperty("data").GetProperty("class_names")[19].GetString());
        }
        // evaluate of the 20-class model prints its matrix; --labels on a data set without them is one line.
        var (evaluateCode, evaluation, evaluateError) = await Run("evaluate", "-m", folder["coarse"]);
        Assert.True(evaluateCode == 0, evaluateError);
        Assert.Contains("aquatic_mammals", evaluation);
        var (badCode, _, badError) = await Run("train", "-f", "keras", "--dataset", "fashion-mnist", "--labels", "coarse", "--out", folder["bad"]);
        Assert.Equal(2, badCode);
        Assert.Contains("--labels coarse applies to --dataset cifar100 only", badError);
    }

    [Fact]
    public async Task Should_download_fashion_mnists_four_files_verified_and_resumable_then_read_them()
    {
        RequireFashionMnist();
        using var folder = new TempFolder();
        var files = Directory.GetFiles(FashionMnist, "*.gz").ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        using var server = new LoopbackServer(files);
        string[] order = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];
        var md5s = order.Select(name => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(files[name]))).ToList();

        // A wrong checksum for the third file: the first two are kept, verified; the third's partial file is removed.
        var wrong = md5s.ToArray();
        wrong[2] = "00000000000000000000000000000000";
        var (badCode, _, badError) = await Run("download", "--dataset", "fashion-mnist", "--dir", folder.Path, "--url", server.Url.ToString(), "--md5", string.Join(",", wrong));
        Assert.Equal(CommandRunner.Failure, badCode);
        Assert.Contains("t10k-images-idx3-ubyte.gz.part: MD5", badError);
        Assert.True(File.Exists(Path.Combine(folder.Path, "fashion-mnist", "train-labels-idx1-ubyte.gz")));

        var (code, output, error) = await Run("download", "--dataset", "fashion-mnist", "--dir", folder.Path, "--url", server.Url.ToString(), "--md5", string.Join(",", md5s));
        Assert.True(code == 0, error);
        Assert.Contains($"Train with: twintrain train --data {Path.Combine(folder.Path, "fashion-mnist")}", output);
        var (data, _) = Data.DatasetLoader.Load(Path.Combine(folder.Path, "fashion-mnist"), useCache: false);
        Assert.Equal(Data.DatasetInfo.FashionMnist, data.Info);
        Assert.Equal(60_000, data.Train.Count);

        var (countCode, _, countError) = await Run("download", "--dataset", "mnist", "--dir", folder.Path, "--url", server.Url.ToString(), "--md5", "a,b");
        Assert.Equal(2, countCode);
        Assert.Contains("--md5: 2 checksum(s) for the 4 file(s) of MNIST's release", countError);
    }
}
