using System.Text.Json;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

/// <summary>
/// The comparison spread over shards and merged by `report`, the ablation, and the refusals that keep one folder's
/// runs one comparison. Tiny runs (one epoch on 256 images, one thread) keep each to seconds.
/// </summary>
public class ComparisonConclusionTests
{
    static string[] Compare(string folder, params string[] more) =>
        ["compare", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--epochs", "1", "--limit-train", "256",
            "--limit-test", "100", "--threads", "1", "--out", folder, .. more];

    [Fact]
    public async Task Should_merge_two_shards_run_as_two_processes_into_the_results_of_one_process()
    {
        using var folder = new TempFolder();
        string shared = folder["shared"], single = folder["single"];
        using var first = CliProcess.Start(null, Compare(shared, "--seeds", "0,1,2", "--shard", "1/2"));
        using var second = CliProcess.Start(null, Compare(shared, "--seeds", "0,1,2", "--shard", "2/2"));
        var outputs = new List<string>();
        foreach (var process in new[] { first, second })
        {
            var output = process.StandardOutput.ReadToEndAsync();
            string error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, error + await output);
            outputs.Add(await output);
        }
        Assert.Contains("Shard 1/2: 4 of the comparison's 6 runs.", outputs[0]); // units (seeds) 0 and 2
        Assert.Contains("Shard 2/2: 2 of the comparison's 6 runs.", outputs[1]);
        Assert.Contains($"'twintrain report {shared}'", outputs[1]);
        Assert.False(File.Exists(Path.Combine(shared, "results.json")), "only report writes the merged results");
        Assert.False(File.Exists(Path.Combine(shared, "report.md")));

        var (code, merged, error2) = await Run("report", shared, "--data", SharedData.ArchivePath);
        Assert.True(code == 0, error2 + merged);
        Assert.Contains("6 run(s) of 6 planned", merged);
        Assert.Contains("Verdict: ", merged);
        Assert.True(File.Exists(Path.Combine(shared, "report.html")));
        (code, _, error2) = await Run(Compare(single, "--seeds", "0,1,2"));
        Assert.True(code == 0, error2);

        // The same runs, the same numbers: only the timings differ.
        using var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(shared, "results.json")));
        using var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(single, "results.json")));
        string Numbers(JsonElement root) => string.Join("\n", root.GetProperty("runs").EnumerateArray().Select(r =>
            $"{Path.GetFileName(r.GetProperty("folder").GetString())} {r.GetProperty("summary").GetProperty("test_accuracy").GetDouble():R} " +
            string.Join(",", r.GetProperty("summary").GetProperty("history").EnumerateArray().Select(e => e.GetProperty("loss").GetDouble().ToString("R")))));
        Assert.Equal(Numbers(b.RootElement), Numbers(a.RootElement));
        string Verdict(JsonElement root) => root.GetProperty("conditions")[0].GetProperty("pairs")[0].GetProperty("verdict").GetString()!;
        Assert.Equal(Verdict(b.RootElement), Verdict(a.RootElement));
        Assert.Equal(b.RootElement.GetProperty("conditions")[0].GetProperty("pairs")[0].GetProperty("paired").GetRawText(),
            a.RootElement.GetProperty("conditions")[0].GetProperty("pairs")[0].GetProperty("paired").GetRawText());
    }

    [Fact]
    public async Task Should_refuse_a_plain_compare_beside_a_shard_a_shard_beside_a_plain_compare_and_a_shard_of_other_settings_but_let_report_run()
    {
        using var folder = new TempFolder();
        string shared = folder["shared"];
        using (FolderLock.TakeShared(shared, "compare --shard 1/2"))
        {
            var (code, _, error) = await Run(Compare(shared, "--seeds", "0"));
            Assert.Equal(CommandRunner.Failure, code);
            Assert.Contains($"in use by another TwinTrain process (pid {Environment.ProcessId} on {FolderLock.Host}, 'compare --shard 1/2'", error);
            // report may run beside shards (it writes only the merged files); here it finds nothing to report yet.
            (code, _, error) = await Run("report", shared);
            Assert.Equal(CommandRunner.Failure, code);
            Assert.DoesNotContain("in use by another TwinTrain process", error);
            Assert.Contains("no runs/ folder, so not a comparison's output folder (nothing to report)", error);
        }

        // Shard 2 of 2 of one seed trains nothing but records the comparison; a shard of other settings is refused.
        var (ok, output, firstError) = await Run(Compare(shared, "--seeds", "0", "--shard", "2/2"));
        Assert.True(ok == 0, firstError + output);
        Assert.Contains("Shard 2/2: 0 of the comparison's 2 runs.", output);
        var (refused, _, differs) = await Run(Compare(shared, "--seeds", "0", "--shard", "1/2", "--lr", "0.01"));
        Assert.Equal(CommandRunner.Failure, refused);
        Assert.Contains($"{Path.Combine(shared, "comparison.json")}: this folder holds a comparison with other settings (training learning_rate 0.001 vs 0.01)", differs);
        Assert.Contains($"(last taken by pid {Environment.ProcessId} on {FolderLock.Host}, 'compare --shard 2/2' since ", differs);
        Assert.Single(differs.Trim().Split('\n'));

        using (FolderLock.Take(shared, "compare"))
        {
            var (code, _, error) = await Run(Compare(shared, "--seeds", "0", "--shard", "1/2"));
            Assert.Equal(CommandRunner.Failure, code);
            Assert.Contains("a shard cannot share a folder with a plain compare", error);
            Assert.Contains($"(pid {Environment.ProcessId} on {FolderLock.Host}, 'compare'", error);
        }
    }

    [Fact]
    public async Task Should_ablate_each_alignment_and_report_what_each_explains()
    {
        using var folder = new TempFolder();
        var (code, output, error) = await Run(Compare(folder.Path, "--seeds", "0,1", "--ablate"));
        Assert.True(code == 0, error + output);
        Assert.Contains("== keras, seed 0, aligned: init", output);
        Assert.Contains("Ablation: what aligning each default changes in the keras − torch gap", output);
        foreach (string condition in new[] { "init", "epsilon", "all" })
        {
            Assert.Matches($@"\n  {condition} +2 ", output);
            Assert.True(File.Exists(Path.Combine(folder.Path, "runs", $"torch-seed1-align-{condition}", "run.json")), condition);
        }
        string md = File.ReadAllText(Path.Combine(folder.Path, "report.md"));
        Assert.Contains("## What each default explains (ablation)", md);
        // Each condition ran with what it says: run.json records the settings as built.
        string Setting(string run, string name) => TwinTrain.Experiment.Reporting.RunFiles.ReadRun(Path.Combine(folder.Path, "runs", run))!
            .Settings!.First(s => s.Setting == name).Value;
        Assert.Equal("√v̂ + ε (after the bias correction)", Setting("keras-seed0-align-all", "Adam epsilon placement"));
        Assert.Equal("1E-08", Setting("keras-seed0-align-all", "Adam epsilon"));
        Assert.Equal("1E-07", Setting("keras-seed0", "Adam epsilon"));
        Assert.Equal("GlorotUniform (from the seed; the same values in both)", Setting("keras-seed1-align-init", "kernel initialisation"));
        Assert.Equal("GlorotUniform (converted from the Keras model's)", Setting("torch-seed1-align-init", "kernel initialisation"));
        Assert.Equal("kaiming_uniform_(a=√5) (reset_parameters)", Setting("torch-seed1-align-epsilon", "kernel initialisation"));
    }

    [Theory]
    [InlineData("--margin", "0", "--margin must be a positive number of accuracy points (got 0).")]
    [InlineData("--margin", "-1", "--margin must be a positive number")]
    [InlineData("--targets", "0", "--targets: '0' is not an accuracy in % between 0 and 100")]
    [InlineData("--targets", "50,100", "--targets: '100' is not an accuracy")]
    [InlineData("--shard", "3/2", "--shard: '3/2' is not K/N with 1 ≤ K ≤ N")]
    [InlineData("--shard", "0/2", "--shard: '0/2' is not K/N")]
    [InlineData("--align", "init,bogus", "--align: unknown difference 'bogus'")]
    [InlineData("--align", "bn", "--align bn applies to networks with BatchNormalization only (study has none).")]
    public async Task Should_refuse_bad_comparison_settings_in_one_line(string option, string value, string message)
    {
        using var folder = new TempFolder();
        var (code, _, error) = await Run(Compare(folder.Path, "--seeds", "0", option, value));
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains(message, error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task Should_refuse_to_report_a_folder_without_runs_or_with_runs_of_different_configurations()
    {
        using var folder = new TempFolder();
        var (code, _, error) = await Run("report", folder["missing"]);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("no such folder", error);
        Directory.CreateDirectory(Path.Combine(folder["empty"], "runs"));
        (code, _, error) = await Run("report", folder["empty"]);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("no runs (no run.json in any folder), nothing to report", error);

        string a = folder["a"], b = folder["b"];
        Assert.Equal(0, (await Run(Compare(a, "--seeds", "0"))).Code);
        Assert.Equal(0, (await Run(Compare(b, "--seeds", "1", "--lr", "0.01"))).Code);
        CopyFolder(Path.Combine(b, "runs", "keras-seed1"), Path.Combine(a, "runs", "keras-seed1"));
        (code, _, error) = await Run("report", a);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("runs of different configurations: runs/keras-seed1 is not one of this comparison's runs", error);
        // Without comparison.json (runs copied together from machines), the runs themselves must agree.
        File.Delete(Path.Combine(a, "comparison.json"));
        (code, _, error) = await Run("report", a);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("runs/keras-seed1 (learning_rate 0.01 vs 0.001", error);
        Assert.Single(error.Trim().Split('\n'));
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string sub in Directory.GetDirectories(from)) CopyFolder(sub, Path.Combine(to, Path.GetFileName(sub)));
    }
}
