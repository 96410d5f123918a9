using System.Diagnostics;
using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Comparison;

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

    /// <summary>This process's share of the runs (--shard K/N); null for all of them.</summary>
    public Shard? Shard { get; init; }

    /// <summary>
    /// Trains the planned runs (this shard's share of them) into OUT/runs/NAME. A plain comparison holds OUT alone; the
    /// shards of one comparison share it, each claiming the run folders it trains, and must agree on comparison.json.
    /// </summary>
    public ComparisonResult Run(CompareConfig config, Architecture architecture, Dataset data, DataSummary dataSummary, string outFolder, CancellationToken stop)
    {
        using var held = Shard is { } shard ? FolderLock.TakeShared(outFolder, $"compare --shard {shard}") : FolderLock.Take(outFolder, "compare");
        ClaimFolder(config, outFolder, held.PreviousHolder);
        if (Shard is { } part) ClaimShardCount(outFolder, part);
        var warmup = new Dictionary<string, double>();
        var runs = new List<ComparedRun>();
        bool interrupted = false;
        var model = ModelDescription.Of(architecture);
        var plan = config.Plan().Where(r => Shard?.Owns(r) ?? true).ToList();
        ComparisonResult Result() => ComparisonResult.Of(config, MachineInfo.Current, dataSummary, warmup, runs, interrupted, model, sameMaths: null);
        var progress = new ComparisonProgress(plan.Count, config.Training.Epochs, config.Frameworks);
        if (Shard is not null) console.WriteLine($"Shard {Shard}: {plan.Count} of the comparison's {config.Plan().Count} runs.");

        // Runs already done will be skipped: they take no time, so the estimate of the time left leaves them out.
        bool[] done = [.. plan.Select(r => !config.Force && TryReadRun(Path.Combine(outFolder, "runs", r.Name), r.Training)
            is { Status: RunSummary.Completed or RunSummary.Diverged })];

        for (int index = 0; index < plan.Count && !interrupted; index++)
        {
            var (name, seed, training) = (plan[index].Framework, plan[index].Seed, plan[index].Training);
            if (stop.IsCancellationRequested) { interrupted = true; break; }
            progress.Remaining = [.. plan.Skip(index + 1).Where((_, i) => !done[index + 1 + i]).Select(r => r.Framework)];
            string label = training.Condition == Alignments.None ? $"{name}, seed {seed}" : $"{name}, seed {seed}, aligned: {training.Condition}";
            string folder = Path.Combine(outFolder, "runs", plan[index].Name);
            var previous = config.Force ? null : TryReadRun(folder, training);
            if (previous is { Status: RunSummary.Completed or RunSummary.Diverged })
            {
                console.WriteLine($"== {label}: already done in {folder}; skipping (--force to redo)");
                runs.Add(new ComparedRun(name, seed, folder, previous, null, Resumed: true, training.Condition));
                foreach (var epoch in previous.History) progress.EpochDone(name, epoch); // its epochs still tell the speed
                progress.RunEnded();
                continue;
            }
            FolderLock runHeld;
            try
            {
                runHeld = FolderLock.Take(folder, $"compare: {label}");
            }
            catch (IOException e) when (Shard is not null)
            {
                console.WriteLine($"== {label}: claimed by another shard ({e.Message}); skipping");
                progress.RunEnded();
                continue;
            }
            using (runHeld)
            {
                // A holder file left behind: its process did not let go of the run. Killed (the run continues from its
                // checkpoint), or still running on another host whose locks this file system does not share: say so.
                if (runHeld.PreviousHolder is { } stale)
                    console.WriteLine($"   note: {folder} was held by {stale}, which never let go: that process was killed, or it runs on another host " +
                        "and this file system does not share locks between hosts (see README, Many machines); taking the run over.");
                try
                {
                    // Inside the try: a framework that cannot start (a worker without its Python) costs its runs, not the comparison.
                    // Measured from before the warm-up: what a framework keeps from it (a managed heap, an allocator's cache)
                    // and reuses in its runs is its own need too.
                    long? residentAtStart = MachineInfo.StartRunMemory();
                    if (!warmup.ContainsKey(name)) warmup[name] = WarmUp(name, training, architecture, data.Train);
                    using var framework = FrameworkCatalog.Create(name, training, data.Train, architecture);
                    var resume = previous is null ? null : ResumeFrom(folder, previous, framework);
                    string where = progress.RunStarting(name);
                    console.WriteLine(resume is null ? $"== {label} ({where})" : $"== {label}: resuming after epoch {resume.History.Count} in {folder} ({where})");
                    var summary = new TrainingRun(console, liveProgress)
                    {
                        TensorBoard = TensorBoard is { } tb ? (Path.Combine(tb.Folder, plan[index].Name), tb.UpdateFrequency) : null,
                        EpochNote = epoch => progress.During(name, epoch),
                        EpochDone = epoch => progress.EpochDone(name, epoch),
                        ResidentAtStart = residentAtStart,
                    }.Execute(framework, training, architecture, data, dataSummary, folder, stop, resume);
                    runs.Add(new ComparedRun(name, seed, folder, summary, null, Resumed: false, training.Condition));
                    // A diverged run is a result: the comparison goes on without it (statistics use completed runs only).
                    if (summary.Status == RunSummary.Interrupted) interrupted = true;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    console.WriteLine($"   {label} failed: {e.Message}");
                    Directory.CreateDirectory(folder);
                    TwinTrain.Data.AtomicFile.WriteAllText(Path.Combine(folder, "error.txt"), e.ToString());
                    runs.Add(new ComparedRun(name, seed, folder, null, e.Message, Resumed: false, training.Condition));
                }
            }
            progress.RunEnded();
            if (Shard is null) RunFiles.WriteJson(Path.Combine(outFolder, ResultsFile), Result());
        }
        var result = Result();
        if (Shard is not null) return result; // only `report` writes the merged results
        if (!interrupted)
        {
            console.WriteLine($"== Do the engines compute the same thing? A short step-by-step run of {string.Join(", ", config.Frameworks)}, every difference aligned, plain SGD");
            try
            {
                result = result with { SameMaths = SameMaths.Run(architecture, data.Train, config.Training.Threads, config.Frameworks) };
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                console.WriteLine($"   the same-maths check failed: {e.Message}"); // a worker that fails costs this check, not the comparison
            }
        }
        RunFiles.WriteJson(Path.Combine(outFolder, ResultsFile), result);
        return result;
    }

    /// <summary>
    /// Records the comparison in comparison.json, or checks it against the one there: a plain comparison owns the
    /// folder and replaces it; a shard must match it (the first shard to arrive writes it, atomically and only if absent).
    /// </summary>
    void ClaimFolder(CompareConfig config, string outFolder, string? previousHolder)
    {
        string path = Path.Combine(outFolder, CompareConfig.File);
        var recorded = config with { Force = false };
        if (Shard is null)
        {
            RunFiles.WriteJson(path, recorded);
            File.Delete(Path.Combine(outFolder, ShardsFile)); // held alone, the whole comparison: no longer split
            return;
        }
        if (TwinTrain.Data.AtomicFile.CreateIfAbsent(path, temporary => RunFiles.WriteJson(temporary, recorded))) return;
        var existing = ReadConfig(outFolder);
        if (existing.DifferencesFrom(config) is { Count: > 0 } differences)
            throw new ArgumentException($"{path}: this folder holds a comparison with other settings ({string.Join("; ", differences)}); " +
                $"a shard must use the same settings as the others{(previousHolder is null ? "" : $" (last taken by {previousHolder})")}, or another --out.");
    }

    public const string ShardsFile = "shards.txt";

    /// <summary>
    /// The number of shards the comparison is split into, recorded by the first shard; a shard that says another
    /// number would train runs another shard also trains, or leave some untrained, and is refused.
    /// </summary>
    void ClaimShardCount(string outFolder, Shard shard)
    {
        string path = Path.Combine(outFolder, ShardsFile);
        if (TwinTrain.Data.AtomicFile.CreateIfAbsent(path, temporary => File.WriteAllText(temporary, $"{shard.Count}\n"))) return;
        string recorded = File.ReadAllText(path).Trim();
        if (recorded != shard.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))
            throw new ArgumentException($"{path}: the comparison is split into {recorded} shards, but this one is --shard {shard}; every shard must say the same N (remove the file to split it anew once no shard runs).");
    }

    /// <summary>The folder's comparison.json; one-line errors when it is missing or damaged.</summary>
    public static CompareConfig ReadConfig(string folder)
    {
        string path = Path.Combine(folder, CompareConfig.File);
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<CompareConfig>(File.ReadAllText(path), RunFiles.Json)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{path}: cannot read the comparison ({e.Message}).", e);
        }
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
}
