using System.Security.Cryptography;
using System.Text.Json;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

public class ModelCommandTests
{
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
