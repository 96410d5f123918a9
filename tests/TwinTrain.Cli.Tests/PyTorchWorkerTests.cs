using System.Text.Json.Nodes;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Cli.Tests;

/// <summary>
/// The real PyTorch as a third framework through its worker process: a three-framework comparison on real images,
/// and every way a worker can fail (TWINTRAIN_WORKER_FAULT, the worker's own fault injection), each costing one run
/// and one clear line, never the comparison, and never leaving a worker process behind.
/// </summary>
public class PyTorchWorkerTests
{
    static string[] Compare(string folder, string frameworks, params string[] more) =>
        ["compare", "--frameworks", frameworks, "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--limit-train", "256",
            "--limit-test", "64", "--threads", "1", "--targets", "20", "--out", folder, .. more];

    /// <summary>A tag in the environment of the TwinTrain process, inherited by its workers, to find them afterwards.</summary>
    static Dictionary<string, string> Tagged(out string tag, Dictionary<string, string>? more = null)
    {
        tag = Guid.NewGuid().ToString("N");
        var environment = new Dictionary<string, string>(more ?? []) { ["TWINTRAIN_TEST_TAG"] = tag };
        return environment;
    }

    /// <summary>The processes still running with the tag in their environment (workers left behind).</summary>
    static List<int> ProcessesTagged(string tag)
    {
        var found = new List<int>();
        foreach (string folder in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out int pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(folder, "environ")).Contains($"TWINTRAIN_TEST_TAG={tag}", StringComparison.Ordinal)) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return found;
    }

    static async Task NoWorkerLeft(string tag)
    {
        for (int i = 0; i < 50 && ProcessesTagged(tag).Count > 0; i++) await Task.Delay(100);
        Assert.Empty(ProcessesTagged(tag));
    }

    [Fact]
    public async Task Should_compare_three_frameworks_with_every_pair_concluded_and_the_same_maths_for_each_pair()
    {
        using var folder = new TempFolder();
        var environment = Tagged(out string tag);
        var (code, output, error) = await CliProcess.Run(environment, Compare(folder.Path, "keras,torch,pytorch", "--seeds", "0,1", "--epochs", "1"));
        Assert.True(code == 0, error + output);
        Assert.Contains("Every pair (row − column, paired by seed, points; p Holm-adjusted over 3 pairs):", output);
        Assert.Contains("torch − pytorch", output); // paired, or "Identical" where TorchSharp and PyTorch agree in every seed

        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "results.json")))!;
        var main = results["conditions"]![0]!;
        Assert.Equal(["keras", "torch", "pytorch"], main["summaries"]!.AsArray().Select(s => s!["framework"]!.GetValue<string>()));
        var pairs = main["pairs"]!.AsArray();
        Assert.Equal(["keras-torch", "keras-pytorch", "torch-pytorch"], pairs.Select(p => $"{p!["a"]}-{p!["b"]}"));
        Assert.All(pairs, p => Assert.Equal(3, p!["comparisons"]!.GetValue<int>()));
        // Holm over the pairs that have a test (a pair identical in every seed has none; one whose seeds' gaps are all
        // equal has Welch's instead of the paired one): the smallest raw p times their number, the others at least as
        // large as it.
        var tested = pairs.Where(p => p!["paired"] is JsonObject || p!["welch"] is JsonObject).ToList();
        Assert.NotEmpty(tested);
        double[] raw = [.. tested.Select(p => (p!["paired"] ?? p!["welch"])!["p_value"]!.GetValue<double>())];
        double[] holm = [.. tested.Select(p => p!["holm_p_value"]!.GetValue<double>())];
        double smallest = Math.Min(1, tested.Count * raw.Min());
        Assert.Equal(smallest, holm[Array.IndexOf(raw, raw.Min())], 12);
        Assert.All(holm, h => Assert.True(h >= smallest - 1e-12));

        // The pytorch runs: the worker's versions, its settings read from the built modules, its own model file.
        var run = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "runs", "pytorch-seed0", "run.json")))!;
        Assert.StartsWith("1.", run["versions"]!["torch"]!.GetValue<string>());
        Assert.Contains(run["settings"]!.AsArray(), s => s!["setting"]!.GetValue<string>() == "Adam epsilon" && s["value"]!.GetValue<string>() == "1e-08");
        Assert.Equal("model.pt", Path.GetFileName(run["weights_file"]!.GetValue<string>()));
        Assert.True(run["peak_memory_bytes"]!.GetValue<long>() > 50 << 20, "the worker's peak memory is recorded");
        Assert.Equal(run["peak_memory_bytes"]!.GetValue<long>(), run["run_memory_bytes"]!.GetValue<long>());
        Assert.Equal(Experiment.RunSummary.WorkerMemory, run["run_memory_measure"]!.GetValue<string>());
        Assert.True(run["load"]!["own_cpu_seconds"]!.GetValue<double>() > 0.5 * run["training_seconds"]!.GetValue<double>(),
            "the worker's CPU time is the run's own, not other processes'");

        // Same maths for every pair; TorchSharp (libtorch 2.10) and PyTorch 1.13 from the same weights.
        var same = results["same_maths"]!.AsArray();
        Assert.Equal(3, same.Count);
        var torchPytorch = same.Single(p => p!["a"]!.GetValue<string>() == "torch" && p["b"]!.GetValue<string>() == "pytorch")!;
        double firstStep = Math.Abs(torchPytorch["losses_a"]![0]!.GetValue<double>() - torchPytorch["losses_b"]![0]!.GetValue<double>());
        Assert.True(firstStep < 1e-5, $"libtorch 2.10 and 1.13 on the first step: {firstStep}");
        // With the same initial weights given to the worker (a torch.save state_dict), the Keras-style engine agrees too.
        var kerasPytorch = same.Single(p => p!["a"]!.GetValue<string>() == "keras" && p["b"]!.GetValue<string>() == "pytorch")!;
        Assert.True(kerasPytorch["max_loss_difference"]!.GetValue<double>() < 1e-3, kerasPytorch.ToJsonString());
        Assert.True(Math.Abs(kerasPytorch["losses_a"]![0]!.GetValue<double>() - kerasPytorch["losses_b"]![0]!.GetValue<double>()) < 1e-5);

        // The worker's model file is a PyTorch state_dict that TwinTrain's own commands read: evaluate agrees with the worker.
        (code, output, error) = await CliProcess.Run(null, ["evaluate", "--model", Path.Combine(folder.Path, "runs", "pytorch-seed0"), "--data", SharedData.ArchivePath,
            "--limit-test", "64"]);
        Assert.True(code == 0, error);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"accuracy {100 * run["test_accuracy"]!.GetValue<double>():F2}%"), output);
        string report = File.ReadAllText(Path.Combine(folder.Path, "report.md"));
        Assert.Contains("| TwinTrain: keras | TwinTrain: torch | TwinTrain: pytorch |", report);
        Assert.Contains("### torch − pytorch", report);
        Assert.Contains("torch and pytorch's first-step losses differ by", report);
        Assert.Contains("```python", report); // the real PyTorch's loop, listed beside the other two
        await NoWorkerLeft(tag);
    }

    public static TheoryData<string, string> Faults => new()
    {
        { "exit:5", "pytorch: the worker exited with code 3 during 'train_epoch'" },
        { "garbage:5", "pytorch: the worker sent a line that is not a protocol message during 'train_epoch': 'Traceback (most recent call last): this is not a protocol message'" },
        { "wrong-id:5", "with a message for request" },
        { "hang:5", "pytorch: no message for 8 s during 'train_epoch' (TWINTRAIN_WORKER_TIMEOUT); the worker hangs" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Should_end_only_the_pytorch_run_when_its_worker_fails_and_continue_it_from_its_checkpoint(string fault, string expected)
    {
        // 256 images in batches of 64: 4 steps per epoch, so step 5 is the second epoch's first (the warm-up's worker
        // trains 4 steps and is another process, with its own count).
        using var folder = new TempFolder();
        var environment = Tagged(out string tag, new() { ["TWINTRAIN_WORKER_FAULT"] = fault, ["TWINTRAIN_WORKER_TIMEOUT"] = "8" });
        string[] compare = Compare(folder.Path, "keras,pytorch", "--seeds", "0", "--epochs", "2");
        var (code, output, error) = await CliProcess.Run(environment, compare);
        Assert.True(code == CommandRunner.Failure, $"exit {code}: {error}{output}");
        string failure = output.Split('\n').Single(l => l.Contains("pytorch, seed 0 failed:", StringComparison.Ordinal));
        Assert.Contains(expected, failure);
        Assert.DoesNotContain("   at ", output);
        Assert.Contains("No comparison: only keras completed a run of the 2 named (keras, pytorch); a comparison needs two.", output);
        var keras = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "runs", "keras-seed0", "run.json")))!;
        Assert.Equal("completed", keras["status"]!.GetValue<string>());
        await NoWorkerLeft(tag);

        // The run folder holds the first epoch's checkpoint: the same command, without the fault, continues from it.
        (code, output, error) = await CliProcess.Run(Tagged(out tag), compare);
        Assert.True(code == 0, error + output);
        Assert.Contains("== keras, seed 0: already done", output);
        Assert.Contains("== pytorch, seed 0: resuming after epoch 1 in ", output);
        var pytorch = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "runs", "pytorch-seed0", "run.json")))!;
        Assert.Equal(2, pytorch["history"]!.AsArray().Count);
        await NoWorkerLeft(tag);
    }

    [Fact]
    public async Task Should_refuse_a_worker_of_another_protocol_version_in_one_line()
    {
        using var folder = new TempFolder();
        var environment = Tagged(out string tag, new() { ["TWINTRAIN_WORKER_FAULT"] = "protocol:7" });
        var (code, output, error) = await CliProcess.Run(environment, ["train", "-f", "pytorch", "--data", SharedData.ArchivePath,
            "--cache-dir", SharedData.CacheFolder, "--limit-train", "64", "--limit-test", "64", "--epochs", "1", "--out", folder["run"]]);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Equal("error: pytorch: the worker speaks protocol version 7, TwinTrain speaks 1 (docs/worker-protocol.md).", error.Trim());
        await NoWorkerLeft(tag);
    }

    [Fact]
    public async Task Should_say_what_is_missing_when_no_python_has_torch_and_still_run_the_other_frameworks()
    {
        using var folder = new TempFolder();
        var environment = new Dictionary<string, string> { ["TWINTRAIN_PYTHON"] = "/nonexistent/python3" };
        var (code, output, _) = await CliProcess.Run(environment, Compare(folder.Path, "keras,torch,pytorch", "--seeds", "0,1", "--epochs", "1"));
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("pytorch, seed 0 failed: pytorch: TWINTRAIN_PYTHON /nonexistent/python3: cannot be run", output);
        Assert.Contains("apt-get install python3-torch python3-numpy", output);
        Assert.Contains("keras − torch", output); // the other two are still compared
        Assert.Equal("completed", JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "runs", "torch-seed0", "run.json")))!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Should_leave_no_worker_behind_when_twintrain_is_killed()
    {
        using var folder = new TempFolder();
        var environment = Tagged(out string tag);
        using var process = CliProcess.Start(environment, ["train", "-f", "pytorch", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder,
            "--limit-train", "2048", "--limit-test", "64", "--epochs", "5", "--threads", "1", "--out", folder["run"]]);
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync()) is not null && !line.StartsWith("Epoch 1/5", StringComparison.Ordinal)) { }
        Assert.NotNull(line);
        Assert.Contains(ProcessesTagged(tag), pid => pid != process.Id); // its worker
        process.Kill(); // SIGKILL: no handler runs, the worker must notice by itself
        await process.WaitForExitAsync();
        await NoWorkerLeft(tag);
    }

    [Fact]
    public async Task Should_stop_the_worker_after_the_current_step_on_ctrl_c_and_record_the_run_as_interrupted()
    {
        using var folder = new TempFolder();
        var environment = Tagged(out string tag);
        string run = folder["run"];
        using var process = CliProcess.Start(environment, ["train", "-f", "pytorch", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder,
            "--limit-train", "4096", "--limit-test", "64", "--epochs", "3", "--threads", "1", "--out", run]);
        var output = new System.Text.StringBuilder();
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync()) is not null)
        {
            output.AppendLine(line);
            if (line.StartsWith("Epoch 2/3", StringComparison.Ordinal)) break;
        }
        Assert.NotNull(line);
        await Task.Delay(500); // inside the second epoch
        // What Ctrl+C sends; the worker, in the same process group on a terminal, ignores it and is stopped through the protocol.
        using (var interrupt = System.Diagnostics.Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            await interrupt.WaitForExitAsync();
        output.Append(await process.StandardOutput.ReadToEndAsync());
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == CommandRunner.Interrupted, $"exit {process.ExitCode}: {output}");
        Assert.Contains("Interrupted at epoch 2, step ", output.ToString());
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!;
        Assert.Equal("interrupted", summary["status"]!.GetValue<string>());
        Assert.Single(summary["history"]!.AsArray());
        await NoWorkerLeft(tag);
    }
}
