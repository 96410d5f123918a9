using System.Text.Json;
using System.Text.Json.Nodes;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

/// <summary>A keras and a torch run trained once for the tests of one class.</summary>
public sealed class TrainedRuns : IDisposable
{
    readonly TempFolder _folder = new();

    public TrainedRuns()
    {
        foreach (string framework in new[] { "keras", "torch" })
        {
            var (code, _, error) = Run("train", "-f", framework, "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder,
                "--epochs", "1", "--limit-train", "256", "--limit-test", "64", "--threads", "1", "--out", this[framework]).GetAwaiter().GetResult();
            Assert.True(code == 0, error);
        }
    }

    public string this[string framework] => _folder[framework];

    /// <summary>A copy of a run folder to damage.</summary>
    public string Copy(string framework, string to)
    {
        foreach (string file in Directory.GetFiles(this[framework], "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(this[framework], file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return to;
    }

    public void Dispose() => _folder.Dispose();
}

/// <summary>
/// Bad input of every kind is one line naming the file or option and the problem, with exit code 2: never a stack
/// trace, a hang, a silent NaN or a half-written file.
/// </summary>
public class BadInputTests(TrainedRuns runs) : IClassFixture<TrainedRuns>
{
    static void OneLine(int code, string error, string expected)
    {
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains(expected, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", error);
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("0")]
    public async Task Should_refuse_an_evaluation_on_no_images(string limit)
    {
        var (code, output, error) = await Run("evaluate", "--model", runs["keras"], "--data", SharedData.ArchivePath, "--limit-test", limit);
        OneLine(code, error, $"--limit-test must be at least 1 (got {limit})");
        Assert.DoesNotContain("NaN", output);
    }

    [Fact]
    public async Task Should_refuse_a_batch_size_no_memory_can_hold()
    {
        var (code, _, error) = await Run("train", "-f", "keras", "--data", SharedData.ArchivePath, "--batch-size", "2147483647");
        OneLine(code, error, "--batch-size must be from 1 to 65,536 (got 2,147,483,647)");
    }

    [Fact]
    public async Task Should_refuse_export_checks_on_no_images_and_a_folder_as_the_output_leaving_nothing_behind()
    {
        using var folder = new TempFolder();
        var (code, _, error) = await Run("export", "--model", runs["keras"], "--out", folder["m.onnx"], "--check-images", "0");
        OneLine(code, error, "--check-images must be at least 1 (got 0)");

        (code, _, error) = await Run("export", "--model", runs["keras"], "--out", folder.Path);
        OneLine(code, error, $"--out {folder.Path}: is a folder");
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
        Assert.False(Directory.Exists(folder.Path + ".tmp") || File.Exists(folder.Path + ".tmp"));
    }

    [Theory]
    [InlineData("config")]
    [InlineData("data")]
    [InlineData("history")]
    public async Task Should_name_what_a_damaged_run_json_lacks(string member)
    {
        using var folder = new TempFolder();
        string run = runs.Copy("keras", folder["run"]);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!.AsObject();
        json.Remove(member);
        File.WriteAllText(Path.Combine(run, "run.json"), json.ToJsonString());
        string expected = $"{Path.Combine(run, "run.json")}: not a complete run (it has no '{member}')";

        var (code, _, error) = await Run("train", "--resume", run, "--epochs", "2", "--cache-dir", SharedData.CacheFolder);
        OneLine(code, error, expected);
        (code, _, error) = await Run("evaluate", "--model", run, "--data", SharedData.ArchivePath);
        OneLine(code, error, expected);
    }

    [Theory]
    [InlineData("keras")]
    [InlineData("torch")]
    public async Task Should_refuse_a_checkpoint_whose_file_does_not_match_its_sha256(string framework)
    {
        using var folder = new TempFolder();
        string run = runs.Copy(framework, folder["run"]);
        string model = ModelIn(run);
        byte[] bytes = File.ReadAllBytes(model);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(model, bytes);

        var (code, _, error) = await Run("evaluate", "--model", run, "--data", SharedData.ArchivePath);
        OneLine(code, error, $"{model}: the file is damaged: its SHA-256 is ");
        (code, _, error) = await Run("evaluate", "--model", model, "--data", SharedData.ArchivePath);
        OneLine(code, error, $"{model}: the file is damaged");
        (code, _, error) = await Run("train", "--resume", run, "--epochs", "2", "--cache-dir", SharedData.CacheFolder);
        OneLine(code, error, $"{model}: the file is damaged");
    }

    [Fact]
    public async Task Should_report_each_unreadable_image_to_predict_in_one_line_without_reading_devices()
    {
        using var folder = new TempFolder();
        var rgb = SharedData.Cifar10.Test.Image(0).ToArray();
        byte[] jpeg;
        using (var stream = new MemoryStream())
        {
            new StbImageWriteSharp.ImageWriter().WriteJpg(rgb, 32, 32, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream, 90);
            jpeg = stream.ToArray();
        }
        File.WriteAllBytes(folder["cut.jpg"], jpeg[..(jpeg.Length / 2)]);
        File.CreateSymbolicLink(folder["zero.jpg"], "/dev/zero");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", folder["fifo.jpg"])) mkfifo.WaitForExit();
        File.WriteAllBytes(folder["huge.png"], HugePngHeader(18_000, 18_000));

        var (code, _, error) = await Run("predict", "--model", runs["keras"], folder["cut.jpg"], folder["zero.jpg"], folder["fifo.jpg"], folder["huge.png"]);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains($"{folder["cut.jpg"]}: the image is truncated (its JPEG end marker is missing)", error);
        Assert.Contains($"{folder["zero.jpg"]}: empty, or not a regular file", error);
        Assert.Contains($"{folder["fifo.jpg"]}: empty, or not a regular file", error);
        Assert.Contains($"{folder["huge.png"]}: the image is 18000x18000, more than the 50,000,000 pixels allowed", error);
        Assert.DoesNotContain("   at ", error);
    }

    /// <summary>A PNG signature, an IHDR chunk claiming the size, and IEND: what a decoder reads before allocating.</summary>
    static byte[] HugePngHeader(int width, int height)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        void Chunk(string type, byte[] data)
        {
            var length = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
            png.Write(length);
            byte[] typed = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
            png.Write(typed);
            var crc = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(crc, System.IO.Hashing.Crc32.HashToUInt32(typed));
            png.Write(crc);
        }
        var header = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        Chunk("IHDR", header);
        Chunk("IEND", []);
        return png.ToArray();
    }

    [Fact]
    public async Task Should_warn_when_threads_outnumber_the_cores()
    {
        using var folder = new TempFolder();
        var (code, _, error) = await Run("train", "-f", "keras", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder,
            "--epochs", "1", "--limit-train", "64", "--limit-test", "64", "--threads", "1000", "--out", folder["run"]);
        Assert.True(code == 0, error);
        Assert.Contains($"warning: --threads 1000 is more than this machine's {Environment.ProcessorCount} cores", error);
    }

    [Fact]
    public async Task Should_show_the_stack_trace_only_with_verbose()
    {
        var (code, _, error) = await Run("evaluate", "--model", "/nonexistent/model.zip", "--data", SharedData.ArchivePath);
        OneLine(code, error, "/nonexistent/model.zip: no such model file or run folder.");
        (code, _, error) = await Run("evaluate", "--model", "/nonexistent/model.zip", "--data", SharedData.ArchivePath, "--verbose");
        Assert.Equal(CommandRunner.Failure, code);
        Assert.StartsWith("error: /nonexistent/model.zip: no such model file or run folder.\n", error);
        Assert.Contains("   at TwinTrain.", error);
    }

    [Fact]
    public async Task Should_leave_the_previous_converted_file_whole_when_killed_while_writing_the_new_one()
    {
        using var folder = new TempFolder();
        string output = folder["model.dat"];
        var (code, _, error) = await Run("convert", "--model", runs["keras"], "--to", "torch", "--out", output);
        Assert.True(code == 0, error);
        byte[] before = File.ReadAllBytes(output);

        var kill = new Dictionary<string, string> { ["TWINTRAIN_FAULT"] = "kill:1:rename model.dat" };
        (code, _, _) = await CliProcess.Run(kill, "convert", "--model", runs["torch"], "--to", "torch", "--out", output);
        Assert.Equal(CliProcess.Killed, code);
        Assert.Equal(before, File.ReadAllBytes(output));
        (code, _, error) = await Run("evaluate", "--model", output, "--data", SharedData.ArchivePath, "--limit-test", "10");
        Assert.True(code == 0, error);
    }

    [Fact]
    public async Task Should_keep_the_previous_output_when_the_disk_is_full()
    {
        using var folder = new TempFolder();
        string output = folder["model.onnx"];
        var (code, _, error) = await Run("export", "--model", runs["keras"], "--out", output);
        Assert.True(code == 0, error);
        byte[] before = File.ReadAllBytes(output);

        // The disk fills up once the new file is written whole, just before it is renamed into place (every writer
        // has a temporary name of its own, so a test cannot point one at /dev/full beforehand).
        var full = new Dictionary<string, string> { ["TWINTRAIN_FAULT"] = "enospc:1:rename model.onnx" };
        (code, _, error) = await CliProcess.Run(full, "export", "--model", runs["torch"], "--out", output);
        OneLine(code, error, "No space left on device");
        Assert.Equal([output], Directory.GetFiles(folder.Path)); // the attempt's temporary file is removed
        Assert.Equal(before, File.ReadAllBytes(output));
    }

    [Fact]
    public async Task Should_continue_an_interrupted_comparison_run_from_its_last_checkpoint()
    {
        using var folder = new TempFolder();
        string[] compare = ["compare", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--seeds", "0",
            "--epochs", "2", "--limit-train", "256", "--limit-test", "64", "--threads", "1", "--out", folder.Path];
        // Killed before keras's second epoch is recorded: its run folder holds epoch 1.
        var kill = new Dictionary<string, string> { ["TWINTRAIN_FAULT"] = "kill:2:rename run.json" };
        var (code, _, _) = await CliProcess.Run(kill, compare);
        Assert.Equal(CliProcess.Killed, code);

        (code, string output, string error) = await Run(compare);
        Assert.True(code == 0, error);
        Assert.Contains("== keras, seed 0: resuming after epoch 1 in ", output);
        Assert.Contains("Epoch 2/2", output);
        Assert.Equal(2, Experiment.Reporting.RunFiles.ReadRun(Path.Combine(folder.Path, "runs", "keras-seed0"))!.History.Count);
    }
}
