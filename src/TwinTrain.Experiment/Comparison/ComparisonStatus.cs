using System.Globalization;
using System.Text;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Experiment.Reporting;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Experiment.Comparison;

/// <summary>One planned run as its folder shows it now.</summary>
public sealed record RunStatus(PlannedRun Run, string State, int EpochsDone, int Epochs, string? Note)
{
    public const string Done = "done", Diverged = "diverged", Failed = "failed", Running = "running",
        Stale = "stale", Interrupted = "interrupted", Waiting = "waiting";

    /// <summary>Whether the run still has epochs to train (it runs, waits, or stopped before its end).</summary>
    public bool Unfinished => State is Running or Stale or Interrupted or Waiting;
}

/// <summary>
/// What a comparison folder holds while its shards run, read without taking any lock (so it never blocks a shard):
/// each planned run is done, diverged, failed, running (its lock held, with the holder's host and PID), stale (a
/// holder file whose process is gone: killed, and the next shard or a rerun continues it), interrupted (stopped
/// cleanly, continues from its last checkpoint) or waiting; and the time left from the epochs measured so far.
/// </summary>
public sealed record ComparisonStatus(string Folder, CompareConfig Config, IReadOnlyList<RunStatus> Runs, int? Shards,
    IReadOnlyDictionary<string, double> SecondsPerEpoch)
{
    public int Count(string state) => Runs.Count(r => r.State == state);

    /// <summary>
    /// The time left: each unfinished run's remaining epochs at its framework's measured seconds per epoch, divided
    /// among the runs going at once (at least one); null while a framework with epochs left has none measured.
    /// </summary>
    public double? SecondsLeft
    {
        get
        {
            double total = 0;
            foreach (var run in Runs.Where(r => r.Unfinished))
            {
                if (!SecondsPerEpoch.TryGetValue(run.Run.Framework, out double perEpoch)) return null;
                total += (run.Epochs - run.EpochsDone) * perEpoch;
            }
            return total / Math.Max(1, Count(RunStatus.Running));
        }
    }

    public static ComparisonStatus Read(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such folder.");
        if (!File.Exists(Path.Combine(folder, CompareConfig.File)))
            throw new ArgumentException($"{folder}: no {CompareConfig.File}, so no compare or shard has started in it (nothing to show).");
        var config = ComparisonRunner.ReadConfig(folder);
        int? shards = int.TryParse(TryRead(Path.Combine(folder, ComparisonRunner.ShardsFile)), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;
        var runs = new List<RunStatus>();
        var measured = new Dictionary<string, List<double>>();
        foreach (var planned in config.Plan())
        {
            string dir = Path.Combine(folder, "runs", planned.Name);
            RunSummary? summary = null;
            try
            {
                if (RunFiles.ReadRun(dir) is { } read && read.Config == planned.Training) summary = read;
            }
            catch (InvalidDataException)
            {
                // A run.json being replaced or damaged: the run shows as its lock says.
            }
            foreach (var epoch in summary?.History ?? [])
                (measured.TryGetValue(planned.Framework, out var list) ? list : measured[planned.Framework] = []).Add(epoch.Seconds);
            runs.Add(StatusOf(planned, dir, summary));
        }
        return new ComparisonStatus(folder, config, runs, shards, measured.ToDictionary(m => m.Key, m => m.Value.Average()));
    }

    static RunStatus StatusOf(PlannedRun planned, string dir, RunSummary? summary)
    {
        int epochs = planned.Training.Epochs, done = summary?.History.Count ?? 0;
        if (summary?.Status == RunSummary.Completed) return new(planned, RunStatus.Done, done, epochs, F($"test accuracy {100 * summary.TestAccuracy:F2}%"));
        if (summary?.Status == RunSummary.Diverged) return new(planned, RunStatus.Diverged, done, epochs, summary.DivergedAt);
        bool exists = Directory.Exists(dir);
        bool? held = exists ? FolderLock.IsHeld(dir) : false;
        var holder = exists ? FolderLock.ReadHolder(dir) : null;
        if (held == true) return new(planned, RunStatus.Running, done, epochs, holder?.Text ?? "its lock is held");
        if (holder is not null)
        {
            // A holder file beside a free lock: gone from this host; on another host its lock is not visible from here.
            if (held == false && holder.OnThisHost)
                return new(planned, RunStatus.Stale, done, epochs, $"{holder.Text}: that process is gone (killed?); a shard or a rerun continues the run");
            return new(planned, RunStatus.Running, done, epochs, $"{holder.Text} (as its holder file says: locks on another host cannot be seen from {FolderLock.Host})");
        }
        if (exists && File.Exists(Path.Combine(dir, "error.txt")))
            return new(planned, RunStatus.Failed, done, epochs, File.ReadLines(Path.Combine(dir, "error.txt")).FirstOrDefault());
        if (summary is not null) return new(planned, RunStatus.Interrupted, done, epochs, summary.InterruptedAt is { } at ? $"stopped at {at}" : null);
        return new(planned, RunStatus.Waiting, 0, epochs, null);
    }

    static string? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public string Format()
    {
        var text = new StringBuilder();
        text.AppendLine(F($"{Folder}: {Runs.Count} runs ({string.Join(", ", Config.Frameworks)} x {Config.Seeds.Count} seed(s){(Config.Ablate ? $" x {Config.Conditions.Count} conditions" : "")}), {Config.Training.Epochs} epoch(s) each{(Shards is { } s ? $", split into {s} shards" : "")}"));
        int width = Runs.Max(r => r.Run.Name.Length);
        foreach (var run in Runs)
            text.AppendLine(F($"  {run.State,-11} {run.Run.Name.PadRight(width)}  {run.EpochsDone,3}/{run.Epochs} epochs{(run.Note is null ? "" : "  " + run.Note)}"));
        text.Append(F($"Done {Count(RunStatus.Done) + Count(RunStatus.Diverged)}, running {Count(RunStatus.Running)}, waiting {Count(RunStatus.Waiting) + Count(RunStatus.Interrupted) + Count(RunStatus.Stale)}"));
        if (Count(RunStatus.Failed) > 0) text.Append(F($", failed {Count(RunStatus.Failed)}"));
        if (!Runs.Any(r => r.Unfinished)) return text.AppendLine(F($"; every run has ended: 'twintrain report {Folder}' writes the results.")).ToString();
        string rates = string.Join(", ", SecondsPerEpoch.Select(p => F($"{p.Value:F1} s ({p.Key})")));
        text.AppendLine(SecondsLeft is double left
            ? F($"; about {Duration(left)} left at the measured {rates} per epoch, {Math.Max(1, Count(RunStatus.Running))} at a time.")
            : F($"; the time left is not known until every framework has finished an epoch{(rates.Length > 0 ? $" (so far {rates} per epoch)" : "")}."));
        return text.ToString();
    }

    static string Duration(double seconds) => seconds < 90 ? F($"{seconds:F0} s") : seconds < 5400 ? F($"{seconds / 60:F0} min") : F($"{seconds / 3600:F1} h");
}
