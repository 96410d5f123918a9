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

        // predict and export handle CIFAR-10 models only so far, and say so.
        var (predictCode, _, predictError) = await Run("predict", "-m", folder.Path, "any.png");
        Assert.Equal(2, predictCode);
        Assert.Contains("takes (None, 28, 28, 1) to 10 classes; twintrain predict handles CIFAR-10 models", predictError);
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
}
