using System.Diagnostics;
using System.Text.Json;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Tests.Shared;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests.Cluster;

/// <summary>
/// The README's many-machine examples, run as the files in examples/ are: the Slurm job array on a real one-node
/// Slurm (sbatch, a task cancelled mid-epoch and requeued), the GNU parallel script, and the Kubernetes Indexed Job
/// checked as a manifest. Each merged comparison must equal one process's, run for run (the reference below).
/// </summary>
public class ShardExampleTests(ITestOutputHelper log, ShardExampleTests.Reference reference) : IClassFixture<ShardExampleTests.Reference>
{
    static string Example(string path) => Path.Combine(SharedData.RepositoryRoot, "examples", path);

    /// <summary>The comparison's settings, as every example passes them on through TWINTRAIN_ARGS.</summary>
    static string Arguments(int limitTrain, int epochs) =>
        $"--data {SharedData.ArchivePath} --cache-dir {SharedData.CacheFolder} --epochs {epochs} --limit-train {limitTrain} --limit-test 200";

    /// <summary>One process's comparison of the same runs: what the shards, merged, must reproduce.</summary>
    public sealed class Reference : IDisposable
    {
        readonly TempFolder _folder = new();
        readonly Dictionary<(int, int), string> _numbers = [];

        public string Numbers(int limitTrain, int epochs)
        {
            lock (_numbers)
            {
                if (_numbers.TryGetValue((limitTrain, epochs), out string? known)) return known;
                string folder = _folder[$"one-{limitTrain}-{epochs}"];
                var (code, output, error) = Run(["compare", "--seeds", "0,1", "--threads", "1", "--out", folder,
                    .. Arguments(limitTrain, epochs).Split(' ')]).GetAwaiter().GetResult();
                Assert.True(code == 0, error + output);
                return _numbers[(limitTrain, epochs)] = NumbersOf(folder);
            }
        }

        public void Dispose() => _folder.Dispose();
    }

    /// <summary>Every run's test accuracy and per-epoch losses, exactly: only the timings may differ between processes.</summary>
    static string NumbersOf(string folder)
    {
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "results.json")));
        return string.Join("\n", results.RootElement.GetProperty("runs").EnumerateArray().Select(r =>
            $"{Path.GetFileName(r.GetProperty("folder").GetString())} {r.GetProperty("summary").GetProperty("test_accuracy").GetDouble():R} " +
            string.Join(",", r.GetProperty("summary").GetProperty("history").EnumerateArray().Select(e => e.GetProperty("loss").GetDouble().ToString("R")))));
    }

    /// <summary>What sbatch and parallel pass on to the examples: the twintrain command (this build) and the comparison.</summary>
    static Dictionary<string, string> Environment(string output, int limitTrain, int epochs) => new()
    {
        ["TWINTRAIN"] = $"{System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet"} {Path.Combine(AppContext.BaseDirectory, "twintrain.dll")}",
        ["TWINTRAIN_OUT"] = output,
        ["TWINTRAIN_SEEDS"] = "0,1",
        ["TWINTRAIN_ARGS"] = Arguments(limitTrain, epochs),
    };

    void Log(string what, (int Code, string Output, string Error) result) =>
        log.WriteLine($"$ {what}  (exit {result.Code})\n{result.Output.TrimEnd()}{(result.Error.Length > 0 ? "\n" + result.Error.TrimEnd() : "")}");

    /// <summary>sbatch of the example as it is, from <paramref name="folder"/>; the options only pick two tasks of one core each.</summary>
    (int Code, string Output, string Error) Submit(OneNodeSlurm slurm, string folder, string cmp, int limitTrain, string option)
    {
        var submit = slurm.Run("sbatch", folder, Environment(cmp, limitTrain, epochs: 2), option, "--array=1-2", "--cpus-per-task=1", Example("slurm/compare.sbatch"));
        Log($"sbatch {option} --array=1-2 --cpus-per-task=1 examples/slurm/compare.sbatch", submit);
        return submit;
    }

    [SkippableFact]
    public async Task Should_run_the_slurm_job_array_as_it_is_and_merge_to_one_process_results()
    {
        using var slurm = OneNodeSlurm.Start();
        using var folder = new TempFolder();
        string cmp = folder["cmp"];
        var submit = Submit(slurm, folder.Path, cmp, limitTrain: 640, "--wait");
        foreach (string shardLog in Directory.GetFiles(folder.Path, "twintrain-*.out").Order())
            log.WriteLine($"--- {Path.GetFileName(shardLog)}\n{File.ReadAllText(shardLog).TrimEnd()}");
        Assert.True(submit.Code == 0, $"sbatch: {submit.Error}{submit.Output}; slurmctld: {slurm.Tail("slurmctld.log")}");
        Assert.Equal(2, Directory.GetFiles(folder.Path, "twintrain-*.out").Length);
        Assert.Contains("Shard 2/2: 2 of the comparison's 4 runs.", File.ReadAllText(Directory.GetFiles(folder.Path, "twintrain-*_2.out")[0]));

        var report = await Run("report", cmp);
        Log($"twintrain report {cmp}", report);
        Assert.True(report.Code == 0, report.Error);
        Assert.Contains("4 run(s) of 4 planned have ended", report.Output);
        Assert.Equal(reference.Numbers(640, 2), NumbersOf(cmp));
    }

    [SkippableFact]
    public async Task Should_stop_a_cancelled_task_after_its_step_and_continue_it_when_requeued_to_the_same_results()
    {
        using var slurm = OneNodeSlurm.Start();
        using var folder = new TempFolder();
        string cmp = folder["cmp"];
        var submit = Submit(slurm, folder.Path, cmp, limitTrain: 3000, "--parsable");
        Assert.True(submit.Code == 0, submit.Error);
        string job = submit.Output.Trim().Split(';')[0];

        // Task 2 trains seed 1 (torch first, then keras): cancel it in the middle of its first run's second epoch.
        string first = Path.Combine(cmp, "runs", "torch-seed1");
        var clock = Stopwatch.StartNew();
        while (!(TwinTrain.Experiment.Reporting.RunFiles.ReadRun(first) is { History.Count: >= 1 } && FolderLock.IsHeld(first) == true))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(5), $"task 2 never finished an epoch: {slurm.Run("squeue").Output}");
            await Task.Delay(200);
        }
        await Task.Delay(700);
        var status = await Run("status", cmp);
        Log($"twintrain status {cmp}", status);
        Assert.Matches(@"running +torch-seed1 +1/2 epochs +pid \d+ on ", status.Output);
        Log($"squeue", slurm.Run("squeue"));
        var cancel = slurm.Run("scancel", $"{job}_2");
        Log($"scancel {job}_2", cancel);
        string task = $"{job}_2";
        await Until(slurm, job, () => slurm.States(job).GetValueOrDefault(task) == "CANCELLED", "task 2 to be cancelled", TimeSpan.FromMinutes(2));
        string taskLog = File.ReadAllText(Directory.GetFiles(folder.Path, $"twintrain-{task}.out")[0]);
        log.WriteLine($"--- twintrain-{task}.out (cancelled)\n{taskLog.TrimEnd()}");
        Assert.Contains("Stopping after the current step (SIGTERM", taskLog);
        var interrupted = TwinTrain.Experiment.Reporting.RunFiles.ReadRun(first)!;
        Assert.Equal("interrupted", interrupted.Status);
        Assert.Single(interrupted.History);
        Assert.StartsWith("epoch 2, step ", interrupted.InterruptedAt);

        // Requeued (Slurm holds a requeued job for a while: start it now), the task continues from its checkpoint.
        // Done means Slurm records the task COMPLETED (it was CANCELLED) and task 1 has ended too; a requeue that
        // Slurm has not taken after a while (the task still CANCELLED, never pending) is asked for once more.
        void Requeue()
        {
            var requeue = slurm.Run("scontrol", "requeue", task);
            Log($"scontrol requeue {task}", requeue);
            Assert.True(requeue.Code == 0, requeue.Error);
            Log($"scontrol update JobId={task} StartTime=now", slurm.Run("scontrol", "update", $"JobId={task}", "StartTime=now"));
        }
        Requeue();
        var requeued = Stopwatch.StartNew();
        bool askedAgain = false;
        await Until(slurm, job, () =>
        {
            var states = slurm.States(job);
            string state = states.GetValueOrDefault(task, "");
            if (state == "CANCELLED" && !askedAgain && requeued.Elapsed > TimeSpan.FromSeconds(20))
            {
                askedAgain = true;
                Requeue();
            }
            Assert.False(OneNodeSlurm.IsFinal(state) && state is not ("COMPLETED" or "CANCELLED"), $"the requeued task ended {state}");
            return state == "COMPLETED" && states.Values.All(OneNodeSlurm.IsFinal);
        }, "the requeued task and task 1 to complete", TimeSpan.FromMinutes(8));
        taskLog = File.ReadAllText(Directory.GetFiles(folder.Path, $"twintrain-{task}.out")[0]);
        log.WriteLine($"--- twintrain-{task}.out (requeued)\n{taskLog.TrimEnd()}");
        Assert.Contains("torch, seed 1: resuming after epoch 1", taskLog);

        var report = await Run("report", cmp);
        Log($"twintrain report {cmp}", report);
        Assert.True(report.Code == 0, report.Error);
        Assert.Equal(reference.Numbers(3000, 2), NumbersOf(cmp));
    }

    /// <summary>Polls <paramref name="done"/> until it holds, or fails naming what was awaited, with squeue and slurmctld's log.</summary>
    static async Task Until(OneNodeSlurm slurm, string job, Func<bool> done, string what, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            Assert.True(clock.Elapsed < limit, $"waited {limit.TotalMinutes} min for {what}: " +
                $"states {string.Join(", ", slurm.States(job).Select(s => $"{s.Key} {s.Value}"))}; squeue: {slurm.Run("squeue").Output}; slurmctld: {slurm.Tail("slurmctld.log")}");
            await Task.Delay(300);
        }
    }

    [SkippableFact]
    public async Task Should_run_the_gnu_parallel_example_as_it_is_and_merge_to_one_process_results()
    {
        Skip.If(!File.Exists("/usr/bin/parallel"), "no GNU parallel on this machine (apt-get install parallel); .ci/run installs it");
        using var folder = new TempFolder();
        string cmp = folder["cmp"];
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = folder.Path };
        start.ArgumentList.Add(Example("parallel/compare.sh"));
        start.ArgumentList.Add("2");
        foreach (var (name, value) in Environment(cmp, limitTrain: 640, epochs: 2)) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        string error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Log("examples/parallel/compare.sh 2", (process.ExitCode, await output, error));
        Assert.True(process.ExitCode == 0, error + await output);
        Assert.Contains("4 run(s) of 4 planned have ended", await output);
        Assert.Equal(reference.Numbers(640, 2), NumbersOf(cmp));
    }

    [Fact]
    public void Should_give_the_kubernetes_example_what_an_indexed_job_needs_with_the_shard_from_the_completion_index()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Example("kubernetes/compare-indexed-job.yaml"))) yaml.Load(reader);
        var job = (YamlMappingNode)yaml.Documents.Single().RootNode;
        string Scalar(YamlNode node, params string[] path) =>
            ((YamlScalarNode)path.Aggregate(node, (n, key) => ((YamlMappingNode)n)[key])).Value!;
        Assert.Equal("batch/v1", Scalar(job, "apiVersion"));
        Assert.Equal("Job", Scalar(job, "kind"));
        // kubernetes.io, "Indexed Job for parallel processing with static work assignment": these fields make one.
        Assert.Equal("Indexed", Scalar(job, "spec", "completionMode"));
        int completions = int.Parse(Scalar(job, "spec", "completions"));
        Assert.InRange(int.Parse(Scalar(job, "spec", "parallelism")), 1, completions);
        var pod = (YamlMappingNode)((YamlMappingNode)job["spec"])["template"]["spec"];
        Assert.Equal("Never", Scalar(pod, "restartPolicy"));
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Single();
        string command = string.Join(" ", ((YamlSequenceNode)container["args"]).Select(a => ((YamlScalarNode)a).Value));
        Assert.Contains("--shard \"$((JOB_COMPLETION_INDEX + 1))/$TWINTRAIN_SHARDS\"", command);
        var shards = ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>().Single(e => Scalar(e, "name") == "TWINTRAIN_SHARDS");
        Assert.Equal(completions, int.Parse(Scalar(shards, "value"))); // N is not passed by Kubernetes: it must equal completions

        // The shard each index makes, as sh computes it: 1..N, each once, all accepted by --shard.
        var made = Enumerable.Range(0, completions).Select(index => TwinTrain.Experiment.Comparison.Shard.Parse($"{index + 1}/{completions}")).ToList();
        Assert.Equal(Enumerable.Range(1, completions), made.Select(s => s.Index));
    }
}
