using System.Security.Cryptography;
using System.Text.Json;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

public class CliTests
{
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
        Assert.Contains("--batch-size must be from 1 to 65,536 (got 0)", error);
    }

    [Theory]
    [InlineData("torch", "weights.torchsharp.dat", "libtorch")]
    [InlineData("keras", "model.keras", "engine")]
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
        Assert.True(new FileInfo(Path.Combine(folder.Path, "checkpoint", "epoch-0002", weightsFile)).Length > 167_562 * 4);
        Assert.Equal(["epoch-0002"], Directory.GetFileSystemEntries(Path.Combine(folder.Path, "checkpoint")).Select(Path.GetFileName));

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
        // 120 test images: with 100, both seeds' gaps happen to be equal, which leaves no spread for the paired test.
        string[] args = ["compare", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--seeds", "0,1",
            "--epochs", "1", "--limit-train", "256", "--limit-test", "120", "--threads", "1", "--out", folder.Path];
        var (code, output, error) = await Run(args);
        Assert.True(code == 0, error + output);
        Assert.Contains("keras − torch, paired by seed (2 pairs):", output);
        Assert.Contains("keras − torch, Welch:", output);
        Assert.Contains("Verdict: ", output);
        // Where the comparison is: run i of n, elapsed, and (once an epoch is measured) the time left.
        Assert.Matches(@"== keras, seed 0 \(run 1 of 4, 0:\d\d elapsed\)", output);
        // Which framework goes first alternates from seed to seed.
        Assert.Matches(@"== torch, seed 1 \(run 3 of 4, \d+:\d\d elapsed, about \d+:\d\d left\)", output);
        Assert.Matches(@"== keras, seed 1 \(run 4 of 4, \d+:\d\d elapsed, about \d+:\d\d left\)", output);
        Assert.Matches(@"Epoch 1/1 \(run 3 of 4, \d+:\d\d elapsed, about \d+:\d\d left\)", output);
        foreach (string run in new[] { "keras-seed0", "keras-seed1", "torch-seed0", "torch-seed1" })
            Assert.True(File.Exists(Path.Combine(folder.Path, "runs", run, "history.csv")), run);

        using (var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "results.json"))))
        {
            var root = results.RootElement;
            Assert.Equal(4, root.GetProperty("runs").GetArrayLength());
            var main = root.GetProperty("conditions")[0];
            Assert.Equal("none", main.GetProperty("condition").GetString());
            Assert.Equal(2, main.GetProperty("summaries").GetArrayLength());
            var pair = main.GetProperty("pairs")[0];
            Assert.Equal(("keras", "torch"), (pair.GetProperty("a").GetString(), pair.GetProperty("b").GetString()));
            Assert.True(pair.GetProperty("welch").GetProperty("degrees_of_freedom").GetDouble() > 0);
            Assert.Equal(1, pair.GetProperty("paired").GetProperty("degrees_of_freedom").GetDouble());
            Assert.True(root.GetProperty("same_maths")[0].GetProperty("max_loss_difference").GetDouble() < 1e-3);
            Assert.True(root.GetProperty("warmup_seconds").GetProperty("keras").GetDouble() > 0);
        }

        // The report: Markdown, a self-contained HTML page, and every chart as a real PNG and SVG.
        string md = File.ReadAllText(Path.Combine(folder.Path, "report.md"));
        Assert.Contains("68.78 %", md);
        Assert.Contains("| Welch (unpaired) |", md);
        Assert.Contains("## Do the engines compute the same thing?", md);
        Assert.Contains("class StudyCnn", md);
        Assert.Contains("new Conv2D(32, (3, 3)", md);
        Assert.Contains("summed over its 4 batches", md);
        string html = File.ReadAllText(Path.Combine(folder.Path, "report.html"));
        Assert.DoesNotContain("http", html);
        Assert.Equal(8, System.Text.RegularExpressions.Regex.Matches(html, "src=\"data:image/png;base64,").Count);
        foreach (string chart in new[] { "accuracy", "loss", "loss-log", "epoch-seconds", "confusion-keras", "confusion-torch", "per-class-accuracy", "same-maths" })
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

    [Theory]
    [InlineData("study", "study (167,562 parameters)")]
    [InlineData("cifar-bn", "cifar-bn (95,434 parameters)")]
    [InlineData("cifar-strided", "cifar-strided (132,618 parameters)")]
    public async Task Should_print_the_benchmark_of_an_architecture_with_the_ratio_line_last(string arch, string header)
    {
        var (code, output, error) = await Run("bench", "--arch", arch, "--steps", "2", "--rounds", "1", "--batch-size", "16", "--threads", "1");
        Assert.True(code == 0, error);
        Assert.StartsWith(header, output);
        Assert.Contains("Kernel micro-benchmark", output);
        // The network's own kernels, a row each, on the paths its layers take.
        Assert.Matches(@"  conv2d\w* +forward, from image rows \(per row\) +\d+x32x27 +\d+\.\d GFLOP/s", output);
        // Behind max pooling the gradient is mostly zeros; behind BatchNormalization it is dense, and no sparse path runs.
        if (arch == "study") Assert.Contains("both gradients, sparse (1 in 8)", output);
        else Assert.DoesNotContain("sparse (1 in 8)", output);
        if (arch == "cifar-strided") Assert.Contains("forward, im2col product", output);
        // The engine's step layer by layer, every layer of the network a row, the strided convolutions named as such.
        Assert.Contains("Per layer, keras engine (1 threads, batch 16, 30 training steps", output);
        Assert.Matches(@"  Conv2D 3x3/1 3→32, \w+ +\d+\.\d\d +\d+\.\d\d +\d+\.\d +\d+\.\d +\d+% +\d+%", output);
        if (arch == "cifar-strided") Assert.Contains("Conv2D 3x3/2 32→64, same", output);
        // The step's parts outside the layers, a row each; BatchNormalization's only where there is one.
        foreach (string part in new[] { "loss and its gradient", "optimizer: gradients summed, update", "weight copies refreshed", "waits, and the batch copied in" })
            Assert.Matches(@"  " + System.Text.RegularExpressions.Regex.Escape(part) + @" +\d+\.\d\d +\d+%", output);
        Assert.Equal(arch != "study", output.Contains("batch statistics combined", StringComparison.Ordinal));
        Assert.Contains("whole step", output);
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

    /// <summary>A small release in the official binary layout: 10 real images per batch file.</summary>
    static byte[] SmallBinaryRelease()
    {
        var images = SharedData.Cifar10.Test;
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new System.Formats.Tar.TarWriter(gzip, System.Formats.Tar.TarEntryFormat.Pax))
        {
            string[] names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"];
            for (int b = 0; b < names.Length; b++)
            {
                var batch = new MemoryStream();
                for (int i = b * 10; i < b * 10 + 10; i++)
                {
                    batch.WriteByte(images.Labels[i]);
                    var rgb = images.Image(i).ToArray();
                    for (int channel = 0; channel < 3; channel++) for (int p = 0; p < 1024; p++) batch.WriteByte(rgb[p * 3 + channel]);
                }
                batch.Position = 0;
                tar.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, $"cifar-10-batches-bin/{names[b]}.bin") { DataStream = batch });
            }
        }
        return output.ToArray();
    }

    // keras.datasets.cifar10.load_data() and torchvision's download=True fetch a missing dataset on first use.
    [Fact]
    public async Task Should_download_the_release_when_it_is_missing_and_asked_to_then_train()
    {
        using var folder = new TempFolder();
        byte[] archive = SmallBinaryRelease();
        using var server = new LoopbackServer(archive, supportRanges: true);
        string md5 = Convert.ToHexStringLower(MD5.HashData(archive));
        string? before = Environment.GetEnvironmentVariable("TWINTRAIN_DATA");
        Environment.SetEnvironmentVariable("TWINTRAIN_DATA", folder["datasets"]);
        try
        {
            string[] train = ["train", "-f", "keras", "--epochs", "1", "--no-cache", "--threads", "1", "--out", folder["run"],
                "--download-url", server.Url.ToString(), "--download-md5", md5];
            var (code, _, error) = await Run(train);
            Assert.Equal(CommandRunner.Failure, code); // not a terminal, no --download: say how
            Assert.Contains("pass --download to fetch it now", error);

            (code, string output, error) = await Run([.. train, "--download"]);
            Assert.True(code == 0, error);
            Assert.Contains("Verified and saved " + Path.Combine(folder["datasets"], "cifar-10-binary.tar.gz"), output);
            Assert.Contains("50 training and 10 test images", output);
            Assert.DoesNotContain("Epoch 1/1", output); // Keras prints "Epoch i/N" only for N above 1
        }
        finally
        {
            Environment.SetEnvironmentVariable("TWINTRAIN_DATA", before);
        }
    }
}
