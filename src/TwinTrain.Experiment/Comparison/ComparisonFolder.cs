using System.Globalization;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Comparison;

/// <summary>
/// A comparison's output folder as `twintrain report` reads it: comparison.json (or, for folders copied together
/// without one, the configuration the runs agree on) and whatever run folders are under runs/, each checked against
/// the comparison, so a run of other settings never passes as one of its runs.
/// </summary>
public static class ComparisonFolder
{
    public static (CompareConfig Config, IReadOnlyList<ComparedRun> Runs) Read(string folder)
    {
        string runsFolder = Path.Combine(folder, "runs");
        if (!Directory.Exists(runsFolder)) throw new ArgumentException($"{folder}: no runs/ folder, so not a comparison's output folder (nothing to report).");
        var found = new List<(string Folder, RunSummary Summary)>();
        foreach (string run in Directory.GetDirectories(runsFolder).Order(StringComparer.Ordinal))
            if (RunFiles.ReadRun(run) is { } summary) found.Add((run, summary));
        if (found.Count == 0)
            throw new ArgumentException(File.Exists(Path.Combine(folder, CompareConfig.File))
                ? $"{runsFolder}: none of the comparison's {ComparisonRunner.ReadConfig(folder).Plan().Count} planned runs has written its run.json yet, nothing to report ('twintrain status {folder}' shows where they are)."
                : $"{runsFolder}: no runs (no run.json in any folder), nothing to report.");

        var config = File.Exists(Path.Combine(folder, CompareConfig.File)) ? ComparisonRunner.ReadConfig(folder) : Infer(found);
        var plan = config.Plan();
        var byName = plan.ToDictionary(r => r.Name);
        var differing = new List<string>();
        foreach (var (run, summary) in found)
        {
            string name = Path.GetFileName(run);
            if (!byName.TryGetValue(name, out var planned)) differing.Add($"runs/{name} is not one of this comparison's runs");
            else if (summary.Config != planned.Training || summary.Framework != planned.Framework)
                differing.Add($"runs/{name} ({CompareConfig.Describe(summary.Config, planned.Training)})");
        }
        if (differing.Count > 0)
            throw new ArgumentException($"{folder}: runs of different configurations: {string.Join("; ", differing.Take(5))}{(differing.Count > 5 ? $"; and {differing.Count - 5} more" : "")}. Move them out, or report them from their own folder.");

        var summaries = found.ToDictionary(f => Path.GetFileName(f.Folder), f => f);
        var runs = new List<ComparedRun>();
        foreach (var planned in plan)
        {
            string path = Path.Combine(runsFolder, planned.Name);
            if (summaries.TryGetValue(planned.Name, out var f))
                runs.Add(new ComparedRun(planned.Framework, planned.Seed, path, f.Summary, null, Resumed: true, planned.Training.Condition));
            else if (File.Exists(Path.Combine(path, "error.txt")))
                runs.Add(new ComparedRun(planned.Framework, planned.Seed, path, null, File.ReadLines(Path.Combine(path, "error.txt")).FirstOrDefault() ?? "failed", Resumed: true, planned.Training.Condition));
        }
        return (config, runs);
    }

    /// <summary>The comparison the runs agree on: one training configuration but for seed and alignment; refused naming the runs that differ.</summary>
    static CompareConfig Infer(List<(string Folder, RunSummary Summary)> found)
    {
        static TrainingConfig Base(TrainingConfig c) => Alignments.With(c, []) with { Seed = 0 };
        var first = Base(found[0].Summary.Config);
        var differing = found.Where(f => Base(f.Summary.Config) != first).ToList();
        if (differing.Count > 0)
            throw new ArgumentException($"{Path.GetDirectoryName(found[0].Folder)}: runs of different configurations (and no {CompareConfig.File} to say which belong): " +
                string.Join("; ", differing.Take(5).Select(d => $"runs/{Path.GetFileName(d.Folder)} ({CompareConfig.Describe(Base(d.Summary.Config), first)}) against runs/{Path.GetFileName(found[0].Folder)}")) + ".");
        var conditions = found.Select(f => f.Summary.Config.Condition).Distinct().ToList();
        var frameworks = Frameworks.FrameworkCatalog.Names.Reverse().Where(n => found.Any(f => f.Summary.Framework == n)).ToList();
        bool ablate = conditions.Count > 1;
        var training = ablate ? first : found[0].Summary.Config with { Seed = 0 };
        return new CompareConfig(training, [.. found.Select(f => f.Summary.Config.Seed).Distinct().Order()], frameworks) { Ablate = ablate };
    }
}
