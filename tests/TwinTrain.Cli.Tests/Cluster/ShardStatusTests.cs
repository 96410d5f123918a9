using System.Diagnostics;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Experiment.Comparison;
using TwinTrain.Experiment.Reporting;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests.Cluster;

/// <summary>
/// Shards between processes without a scheduler: the shard a Slurm array task is, SIGTERM as a scheduler sends it,
/// `status` while shards run (read-only), a partial `report`, and the refusals that keep a split comparison whole.
/// </summary>
public class ShardStatusTests
{
    static string[] Compare(string folder, int limitTrain, params string[] more) =>
        ["compare", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--epochs", "2", "--limit-train", $"{limitTrain}",
            "--limit-test", "100", "--threads", "1", "--out", folder, .. more];

    public static TheoryData<string, string?> SlurmArrays => new()
    {
        // SLURM_ARRAY_TASK_ID, MIN, MAX, COUNT (and STEP) as sbatch --array sets them (slurm.schedmd.com/job_array.html).
        { "ID=3 MIN=1 MAX=4 COUNT=4 STEP=1", "3/4" },
        { "ID=0 MIN=0 MAX=9 COUNT=10", "1/10" },
        { "ID=2 MIN=1 MAX=2 COUNT=2 STEP=1", "2/2" },
        { "MIN=1 MAX=4 COUNT=4", "$SLURM_ARRAY_TASK_ID is not set; run it as a task of a Slurm job array" },
        { "ID=x MIN=1 MAX=4 COUNT=4", "$SLURM_ARRAY_TASK_ID is 'x', not a whole number" },
        { "ID=3 MIN=1 MAX=7 COUNT=4 STEP=2", "the array's indices are 1..7 in 4 task(s) by steps of 2, not consecutive" },
        { "ID=3 MIN=1 MAX=4 COUNT= STEP=1", "$SLURM_ARRAY_TASK_COUNT is '', not a whole number" },
    };

    [Theory]
    [MemberData(nameof(SlurmArrays))]
    public void Should_take_the_shard_from_a_slurm_array_tasks_variables_or_name_the_one_missing(string variables, string? expected)
    {
        var environment = variables.Split(' ').Select(v => v.Split('=')).ToDictionary(v => $"SLURM_ARRAY_TASK_{v[0]}", v => v[1]);
        if (expected!.Contains('/') && !expected.Contains(' '))
        {
            Assert.Equal(expected, Shard.Parse("slurm", environment.GetValueOrDefault).ToString());
            return;
        }
        var error = Assert.Throws<ArgumentException>(() => Shard.Parse("slurm", environment.GetValueOrDefault));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task Should_refuse_a_shard_that_splits_the_comparison_into_another_number_of_shards()
    {
        using var folder = new TempFolder();
        var (code, _, error) = await Run(Compare(folder["cmp"], 256, "--seeds", "0", "--shard", "2/2")); // trains nothing, records 2
        Assert.True(code == 0, error);
        (code, _, error) = await Run(Compare(folder["cmp"], 256, "--seeds", "0", "--shard", "1/3"));
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("shards.txt: the comparison is split into 2 shards, but this one is --shard 1/3", error);
        (code, _, error) = await Run(Compare(folder["other"], 256, "--seeds", "0", "--shard", "slurm"));
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("--shard slurm: $SLURM_ARRAY_TASK_ID is not set", error);
    }

    static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    static async Task Until(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"waited 3 minutes for {what}");
            await Task.Delay(100);
        }
    }

    static bool InEpoch(string run, int epochsDone) =>
        RunFiles.ReadRun(run) is { } summary && summary.History.Count >= epochsDone && FolderLock.IsHeld(run) == true;

    [Fact]
    public async Task Should_stop_on_sigterm_after_the_current_step_exit_143_and_continue_when_resumed()
    {
        using var folder = new TempFolder();
        string run = folder["run"];
        string[] train = ["train", "-f", "torch", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder,
            "--epochs", "3", "--limit-train", "3000", "--limit-test", "100", "--threads", "1", "--out", run];
        using var process = CliProcess.Start(null, train);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await Until(() => InEpoch(run, 1), "the first epoch");
        await Task.Delay(500);
        Signal(process, "TERM");
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == CommandRunner.Terminated, await error + await output);
        Assert.Contains("Stopping after the current step (SIGTERM: preempted, cancelled or out of time)", await error);
        var stopped = RunFiles.ReadRun(run)!;
        Assert.Equal(RunSummary.Interrupted, stopped.Status);
        Assert.StartsWith("epoch 2, step ", stopped.InterruptedAt);

        var (code, resumed, resumeError) = await Run("train", "--resume", run, "--cache-dir", SharedData.CacheFolder);
        Assert.True(code == 0, resumeError + resumed);
        Assert.Contains("after epoch 1 of 3", resumed);
        Assert.Equal(3, RunFiles.ReadRun(run)!.History.Count);
    }

    [Fact]
    public async Task Should_show_running_stale_and_waiting_runs_without_blocking_a_shard_and_report_partially()
    {
        using var folder = new TempFolder();
        string cmp = folder["cmp"];
        // Shard 1 of 2 (seed 0) runs on; shard 2 (seed 1) is killed in its first run, leaving its holder file behind.
        using var first = CliProcess.Start(null, Compare(cmp, 3000, "--seeds", "0,1", "--shard", "1/2"));
        using var second = CliProcess.Start(null, Compare(cmp, 3000, "--seeds", "0,1", "--shard", "2/2"));
        string killedRun = Path.Combine(cmp, "runs", "torch-seed1"); // odd seeds run torch first
        await Until(() => InEpoch(killedRun, 0) && FolderLock.ReadHolder(killedRun) is not null, "shard 2's first run");
        second.Kill();
        await second.WaitForExitAsync();
        await Until(() => InEpoch(Path.Combine(cmp, "runs", "keras-seed0"), 1) || InEpoch(Path.Combine(cmp, "runs", "torch-seed0"), 0), "shard 1's runs");

        var (code, status, error) = await Run("status", cmp);
        Assert.True(code == 0, error);
        Assert.Contains("4 runs (keras, torch x 2 seed(s)), 2 epoch(s) each, split into 2 shards", status);
        Assert.Matches($@"running +(keras|torch)-seed0 +\d/2 epochs +pid {first.Id} on {FolderLock.Host}, 'compare: ", status);
        Assert.Matches($@"stale +torch-seed1 +\d/2 epochs +pid {second.Id} on {FolderLock.Host}, .*that process is gone", status);
        Assert.Matches(@"waiting +keras-seed1 +0/2 epochs", status);
        Assert.Matches(@"Done \d, running 1, waiting [23]", status);

        // A report beside the running shard: partial, and saying so.
        (code, string report, error) = await Run("report", cmp, "--data", SharedData.ArchivePath);
        Assert.True(code == 0 || report.Contains("none of the comparison's 4 planned runs"), error + report);
        await first.WaitForExitAsync();
        Assert.Equal(0, first.ExitCode);
        (code, report, error) = await Run("report", cmp, "--data", SharedData.ArchivePath);
        Assert.True(code == 0, error + report);
        Assert.Contains("2 run(s) of 4 planned have ended", report);
        Assert.Contains("**Partial report** (partial: 2 of the 4 planned runs have ended (0 running, 2 waiting or stopped)", File.ReadAllText(Path.Combine(cmp, "report.md")));

        // The killed shard, started again, continues its run; then the comparison is whole.
        var (again, _, againError) = await Run(Compare(cmp, 3000, "--seeds", "0,1", "--shard", "2/2"));
        Assert.True(again == 0, againError);
        (code, status, _) = await Run("status", cmp);
        Assert.Contains("every run has ended: 'twintrain report", status);
        (code, report, error) = await Run("report", cmp, "--data", SharedData.ArchivePath);
        Assert.True(code == 0, error);
        Assert.DoesNotContain("Partial report", File.ReadAllText(Path.Combine(cmp, "report.md")));
    }
}
