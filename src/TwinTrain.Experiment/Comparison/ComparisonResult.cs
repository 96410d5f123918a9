using System.Text.Json.Serialization;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Comparison;

/// <summary>One (framework, seed, condition) run: its summary, or the error that stopped it.</summary>
public sealed record ComparedRun(string Framework, int Seed, string Folder, RunSummary? Summary, string? Error, bool Resumed, string Condition = Alignments.None);

/// <summary>Per framework: test accuracy over seeds, and time and memory per run.</summary>
public sealed record FrameworkSummary(string Framework, int Runs, double TestAccuracyMean, double TestAccuracyStd,
    double TestLossMean, double TrainingSecondsMean, double SecondsPerEpochMean, double ImagesPerSecondMean, long PeakMemoryBytesMax,
    long? RunMemoryBytesMax = null, string? RunMemoryMeasure = null);

/// <summary>Everything the comparison found; written as results.json.</summary>
public sealed record ComparisonResult(
    CompareConfig Config, MachineInfo Machine, DataSummary Data, IReadOnlyDictionary<string, double> WarmupSeconds,
    IReadOnlyList<ComparedRun> Runs, IReadOnlyList<ConditionResult> Conditions, IReadOnlyList<FactorEffect> Factors,
    bool Interrupted, DateTime FinishedUtc, ModelDescription? Model = null, IReadOnlyList<SameMathsResult>? SameMaths = null)
{
    /// <summary>Why the results are partial (runs still going or waiting when `report` ran); null when every run has ended.</summary>
    public string? Partial { get; init; }

    /// <summary>The headline condition: the config's own alignment (nothing aligned under --ablate).</summary>
    [JsonIgnore] public ConditionResult? Main => Conditions.Count > 0 ? Conditions[0] : null;

    [JsonIgnore] public IReadOnlyList<FrameworkSummary> Summaries => Main?.Summaries ?? [];

    [JsonIgnore] public AccuracyConclusion? Accuracy => Main?.Accuracy;

    /// <summary>Every pair's conclusion in the headline condition.</summary>
    [JsonIgnore] public IReadOnlyList<AccuracyConclusion> Pairs => Main?.Pairs ?? [];

    /// <summary>The runs of the headline condition (the charts' and per-run lines').</summary>
    [JsonIgnore] public IReadOnlyList<ComparedRun> MainRuns => [.. Runs.Where(r => r.Condition == (Main?.Condition ?? Alignments.None))];

    /// <summary>Completed runs whose machine was busy while they ran (their timings are not representative).</summary>
    [JsonIgnore] public IReadOnlyList<ComparedRun> Disturbed => [.. Runs.Where(r => r.Summary is { Status: RunSummary.Completed, Load.Disturbed: true })];

    /// <summary>Summaries, conclusions and factor effects from the runs (shared by `compare` and `report`).</summary>
    public static ComparisonResult Of(CompareConfig config, MachineInfo machine, DataSummary data, IReadOnlyDictionary<string, double> warmup,
        IReadOnlyList<ComparedRun> runs, bool interrupted, ModelDescription? model, IReadOnlyList<SameMathsResult>? sameMaths)
    {
        var conditions = config.Conditions.Select(c => Condition(config, c, runs)).ToList();
        var factors = Analysis.EffectsForEveryPair(conditions, runs, config.Frameworks);
        return new ComparisonResult(config, machine, data, warmup, runs, conditions, factors, interrupted, DateTime.UtcNow, model, sameMaths);
    }

    static ConditionResult Condition(CompareConfig config, TrainingConfig condition, IReadOnlyList<ComparedRun> runs)
    {
        var summaries = new List<FrameworkSummary>();
        var accuracies = new Dictionary<string, List<(int, double)>>();
        var times = new List<TimeToAccuracy>();
        foreach (string name in config.Frameworks)
        {
            var done = runs.Where(r => r.Condition == condition.Condition && r.Framework == name && r.Summary is { Status: RunSummary.Completed, TestAccuracy: not null })
                .Select(r => r.Summary!).ToList();
            if (done.Count == 0) continue;
            var accuracy = done.Select(s => s.TestAccuracy!.Value).ToList();
            accuracies[name] = [.. done.Select(s => (s.Config.Seed, s.TestAccuracy!.Value))];
            summaries.Add(new FrameworkSummary(name, done.Count, Statistics.Mean(accuracy), Statistics.StandardDeviation(accuracy),
                Statistics.Mean(done.Select(s => s.TestLoss!.Value).ToList()),
                Statistics.Mean(done.Select(s => s.TrainingSeconds).ToList()),
                Statistics.Mean(done.Select(s => s.History.Average(e => e.Seconds)).ToList()),
                Statistics.Mean(done.Select(s => s.TrainImagesPerSecond).ToList()),
                done.Max(s => s.PeakMemoryBytes), done.Max(s => s.RunMemoryBytes),
                done.Select(s => s.RunMemoryMeasure).FirstOrDefault(m => m is not null)));
            times.AddRange(Analysis.TimesToAccuracy(name, done, config.Targets));
        }
        return new ConditionResult(condition.Condition, condition.Aligned, summaries, Analysis.ConcludeAll(config.Frameworks, accuracies, config.MarginPoints), times);
    }
}
