using System.Diagnostics;
using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Comparison;

/// <summary>What to compare: one training configuration, run for every framework and seed.</summary>
public sealed record CompareConfig(TrainingConfig Training, IReadOnlyList<int> Seeds, IReadOnlyList<string> Frameworks, bool Force = false);

/// <summary>One (framework, seed) run: its summary, or the error that stopped it.</summary>
public sealed record ComparedRun(string Framework, int Seed, string Folder, RunSummary? Summary, string? Error, bool Resumed);

/// <summary>Per framework: test accuracy over seeds, and time and memory per run.</summary>
public sealed record FrameworkSummary(string Framework, int Runs, double TestAccuracyMean, double TestAccuracyStd,
    double TestLossMean, double TrainingSecondsMean, double SecondsPerEpochMean, double ImagesPerSecondMean, long PeakMemoryBytesMax);

/// <summary>Everything the comparison found; written as results.json.</summary>
public sealed record ComparisonResult(
    CompareConfig Config, MachineInfo Machine, DataSummary Data, IReadOnlyDictionary<string, double> WarmupSeconds,
    IReadOnlyList<ComparedRun> Runs, IReadOnlyList<FrameworkSummary> Summaries, WelchTest? AccuracyDifference,
    bool Interrupted, DateTime FinishedUtc, ModelDescription? Model = null);

/// <summary>
/// Trains every (framework, seed) pair one after another under identical conditions: the same decoded data, sample
/// order (seed), hyperparameters and threads. Each run goes to its own folder as it trains; a rerun skips runs
/// already completed with the same configuration and continues interrupted ones from their last checkpoint (unless
/// forced). A failing run is recorded and the others go on.
/// </summary>
public sealed class ComparisonRunner(TextWriter console, bool liveProgress)
{
    public const string ResultsFile = "results.json";

    /// <summary>The TensorBoard folder (each run writes FOLDER/framework-seedN) and batch frequency; null for none.</summary>
    public (string Folder, int UpdateFrequency)? TensorBoard { get; init; }

    public ComparisonResult Run(CompareConfig config, Architecture architecture, Cifar10 data, DataSummary dataSummary, string outFolder, CancellationToken stop)
    {
        using var held = FolderLock.Take(outFolder, "compare");
        var warmup = new Dictionary<string, double>();
        var runs = new List<ComparedRun>();
        bool interrupted = false;
        var model = ModelDescription.Of(architecture, config.Training);
        ComparisonResult Result() => Summarise(config, dataSummary, warmup, runs, interrupted) with { Model = model };
        var order = config.Seeds.SelectMany(seed => config.Frameworks.Select(name => (seed, name))).ToList();
        var progress = new ComparisonProgress(order.Count, config.Training.Epochs, config.Frameworks);

        foreach (int seed in config.Seeds)
        {
            foreach (string name in config.Frameworks)
            {
                if (stop.IsCancellationRequested) { interrupted = true; break; }
                progress.Remaining = [.. order.SkipWhile(r => r != (seed, name)).Skip(1).Select(r => r.name)];
                string folder = Path.Combine(outFolder, "runs", $"{name}-seed{seed}");
                var training = config.Training with { Seed = seed };
                var previous = config.Force ? null : TryReadRun(folder, training);
                if (previous is { Status: "completed" or RunSummary.Diverged })
                {
                    console.WriteLine($"== {name}, seed {seed}: already done in {folder}; skipping (--force to redo)");
                    runs.Add(new ComparedRun(name, seed, folder, previous, null, Resumed: true));
                    foreach (var epoch in previous.History) progress.EpochDone(name, epoch); // its epochs still tell the speed
                    progress.RunEnded();
                    continue;
                }
                if (!warmup.ContainsKey(name)) warmup[name] = WarmUp(name, training, architecture, data.Train);

                try
                {
                    using var runHeld = FolderLock.Take(folder, $"compare: {name}, seed {seed}");
                    MachineInfo.ResetPeakMemory();
                    using var framework = FrameworkCatalog.Create(name, training, data.Train, architecture);
                    var resume = previous is null ? null : ResumeFrom(folder, previous, framework);
                    string where = progress.RunStarting(name);
                    console.WriteLine(resume is null ? $"== {name}, seed {seed} ({where})" : $"== {name}, seed {seed}: resuming after epoch {resume.History.Count} in {folder} ({where})");
                    var summary = new TrainingRun(console, liveProgress)
                    {
                        TensorBoard = TensorBoard is { } tb ? (Path.Combine(tb.Folder, $"{name}-seed{seed}"), tb.UpdateFrequency) : null,
                        EpochNote = epoch => progress.During(name, epoch),
                        EpochDone = epoch => progress.EpochDone(name, epoch),
                    }.Execute(framework, training, architecture, data, dataSummary, folder, stop, resume);
                    runs.Add(new ComparedRun(name, seed, folder, summary, null, Resumed: false));
                    // A diverged run is a result: the comparison goes on without it (statistics use completed runs only).
                    if (summary.Status == "interrupted") interrupted = true;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    console.WriteLine($"   {name}, seed {seed} failed: {e.Message}");
                    Directory.CreateDirectory(folder);
                    TwinTrain.Data.AtomicFile.WriteAllText(Path.Combine(folder, "error.txt"), e.ToString());
                    runs.Add(new ComparedRun(name, seed, folder, null, e.Message, Resumed: false));
                }
                progress.RunEnded();
                RunFiles.WriteJson(Path.Combine(outFolder, ResultsFile), Result());
                if (interrupted) break;
            }
            if (interrupted) break;
        }
        var result = Result();
        RunFiles.WriteJson(Path.Combine(outFolder, ResultsFile), result);
        return result;
    }

    /// <summary>A short untimed training of a throwaway model, so JIT and library start-up do not count against either side.</summary>
    static double WarmUp(string name, TrainingConfig training, Architecture architecture, ImageSet train)
    {
        var clock = Stopwatch.StartNew();
        var sample = train.Subset(Math.Min(train.Count, training.BatchSize * 10));
        using var framework = FrameworkCatalog.Create(name, training with { Epochs = 1 }, sample, architecture);
        framework.TrainEpoch(0, null, CancellationToken.None);
        framework.Evaluate(sample);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The run already in <paramref name="folder"/> with exactly this configuration, if any (a damaged run.json counts as none).</summary>
    static RunSummary? TryReadRun(string folder, TrainingConfig training)
    {
        try
        {
            return RunFiles.ReadRun(folder) is { } summary && summary.Config == training ? summary : null;
        }
        catch (InvalidDataException)
        {
            return null; // a damaged run.json: run it again
        }
    }

    /// <summary>
    /// Loads an interrupted run's last checkpoint into <paramref name="framework"/> so the run continues where it
    /// stopped; null (train from the start) when it completed no epoch or its checkpoint does not verify.
    /// </summary>
    RunSummary? ResumeFrom(string folder, RunSummary previous, IFramework framework)
    {
        try
        {
            if (TrainingRun.CheckpointToResume(folder, previous) is not { } checkpoint) return null;
            framework.LoadCheckpoint(checkpoint);
            return previous;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            console.WriteLine($"   cannot continue the interrupted run in {folder} ({e.Message}); training it from the start.");
            return null;
        }
    }

    static ComparisonResult Summarise(CompareConfig config, DataSummary data, Dictionary<string, double> warmup,
        List<ComparedRun> runs, bool interrupted)
    {
        var summaries = new List<FrameworkSummary>();
        var accuracies = new Dictionary<string, List<double>>();
        foreach (string name in config.Frameworks)
        {
            var done = runs.Where(r => r.Framework == name && r.Summary is { Status: "completed", TestAccuracy: not null }).Select(r => r.Summary!).ToList();
            if (done.Count == 0) continue;
            var accuracy = done.Select(s => s.TestAccuracy!.Value).ToList();
            accuracies[name] = accuracy;
            summaries.Add(new FrameworkSummary(name, done.Count, Statistics.Mean(accuracy), Statistics.StandardDeviation(accuracy),
                Statistics.Mean(done.Select(s => s.TestLoss!.Value).ToList()),
                Statistics.Mean(done.Select(s => s.TrainingSeconds).ToList()),
                Statistics.Mean(done.Select(s => s.History.Average(e => e.Seconds)).ToList()),
                Statistics.Mean(done.Select(s => s.TrainImagesPerSecond).ToList()),
                done.Max(s => s.PeakMemoryBytes)));
        }
        var test = accuracies.Count == 2 ? Statistics.Welch(accuracies[config.Frameworks[0]], accuracies[config.Frameworks[1]]) : null;
        return new ComparisonResult(config, MachineInfo.Current, data, warmup, [.. runs], summaries, test, interrupted, DateTime.UtcNow);
    }
}
