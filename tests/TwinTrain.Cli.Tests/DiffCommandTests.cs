using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

/// <summary>`twintrain diff` from the command line: the table, the sentence and the files on real images, and one line for bad input.</summary>
public class DiffCommandTests
{
    static readonly string[] Data = ["--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--threads", "1"];

    [Fact]
    public async Task Should_name_where_torch_parts_on_cifar_bn_and_write_its_files()
    {
        using var folder = new TempFolder();
        var (code, output, error) = await Run(["diff", "--arch", "cifar-bn", "--batch-size", "16", "--steps", "2", "-o", folder["diff"], .. Data]);
        Assert.True(code == 0, error);
        Assert.Contains("batch_normalization (BatchNormalization)", output);
        Assert.Contains("BEYOND: output", output);
        Assert.Contains("keras stays within float32 rounding at every layer, forward and backward.", output);
        Assert.Contains("torch parts from the reference at batch_normalization (forward, output", output);
        foreach (string file in new[] { "diff.json", "diff.md", "diff-layers.png", "diff-layers.svg", "diff-drift.png", "diff-drift.svg" })
            Assert.True(File.Exists(Path.Combine(folder["diff"], file)), file);
        Assert.Empty(Directory.GetFiles(folder["diff"], "*.tmp"));

        // With the config's constants in both, nothing parts.
        (code, output, error) = await Run(["diff", "--arch", "cifar-bn", "--align", "bn", "--batch-size", "16", "-o", folder["aligned"], .. Data]);
        Assert.True(code == 0, error);
        Assert.Contains("torch stays within float32 rounding at every layer, forward and backward.", output);
        Assert.DoesNotContain("BEYOND", output);
    }

    [Fact]
    public async Task Should_look_inside_the_study_fitted_to_fashion_mnist_one_channel_images()
    {
        const string fashionMnist = "/usr/share/datasets/fashion-mnist";
        if (!Directory.Exists(fashionMnist))
            throw new DirectoryNotFoundException($"This test reads the real Fashion-MNIST in {fashionMnist} (apt-get install dataset-fashion-mnist); it is missing.");
        using var folder = new TempFolder();
        var (code, output, error) = await Run("diff", "--data", fashionMnist, "--cache-dir", SharedData.CacheFolder, "--threads", "1",
            "--batch-size", "16", "--steps", "2", "-o", folder["diff"]);
        Assert.True(code == 0, error);
        Assert.Contains($"Loading fashion-mnist from {fashionMnist}", output);
        Assert.Contains("keras stays within float32 rounding at every layer, forward and backward.", output);
        Assert.Contains("torch stays within float32 rounding at every layer, forward and backward.", output);
    }

    [Theory]
    [InlineData("--frameworks: unknown framework 'caffe'", "--frameworks", "keras,caffe")]
    [InlineData("--frameworks: pytorch has no layer-by-layer mode, so diff cannot look inside it (diff looks inside keras, torch).", "--frameworks", "keras,pytorch")]
    [InlineData("--align: unknown difference 'momentum'", "--align", "momentum")]
    [InlineData("--align bn applies to networks with BatchNormalization only (study has none).", "--align", "bn")]
    [InlineData("--steps must be at least 1 (got 0).", "--steps", "0")]
    [InlineData("--steps 1 with --batch-size 60000 needs 60,000 training images; the data has 50,000.", "--batch-size", "60000")]
    public async Task Should_refuse_bad_input_in_one_line(string expected, params string[] args)
    {
        using var folder = new TempFolder();
        var (code, _, error) = await Run(["diff", .. args, "-o", folder["diff"], .. Data]);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains(expected, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.False(Directory.Exists(folder["diff"]));
    }
}
