using System.Diagnostics;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Comparison;

/// <summary>
/// Where a comparison is: which run of how many, the time since it started, and an estimate of the time left, learned
/// from the epochs measured so far (each framework's mean seconds per epoch; the other framework's until its first).
/// </summary>
public sealed class ComparisonProgress(int totalRuns, int epochsPerRun, IReadOnlyList<string> frameworks)
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly Dictionary<string, (double Seconds, int Epochs)> _measured = [];
    int _runsStarted;
    int _runsEnded;

    /// <summary>The framework of each run still to come after the current one, in order.</summary>
    public IReadOnlyList<string> Remaining { get; set; } = [];

    public void EpochDone(string framework, EpochRecord epoch)
    {
        var (seconds, epochs) = _measured.GetValueOrDefault(framework);
        _measured[framework] = (seconds + epoch.Seconds, epochs + 1);
    }

    /// <summary>A run was skipped (already done) or finished: it counts as done.</summary>
    public void RunEnded() => _runsEnded++;

    /// <summary>"run 3 of 6, 4:12 elapsed, about 8:30 left" as a run starts.</summary>
    public string RunStarting(string framework)
    {
        _runsStarted = _runsEnded + 1;
        return Line(framework, epochsLeftInCurrent: epochsPerRun);
    }

    /// <summary>The same while the current run of <paramref name="framework"/> is at the start of epoch <paramref name="epoch"/> (from 0).</summary>
    public string During(string framework, int epoch) => Line(framework, epochsPerRun - epoch);

    string Line(string framework, int epochsLeftInCurrent)
    {
        string text = $"run {_runsStarted} of {totalRuns}, {Format(_clock.Elapsed.TotalSeconds)} elapsed";
        double? left = SecondsPerEpoch(framework) * epochsLeftInCurrent;
        foreach (string next in Remaining) left += SecondsPerEpoch(next) * epochsPerRun;
        return left is double seconds ? $"{text}, about {Format(seconds)} left" : text;
    }

    double? SecondsPerEpoch(string framework)
    {
        if (_measured.TryGetValue(framework, out var own) && own.Epochs > 0) return own.Seconds / own.Epochs;
        var others = frameworks.Where(f => _measured.ContainsKey(f)).Select(f => _measured[f]).ToList();
        return others.Count > 0 ? others.Sum(o => o.Seconds) / others.Sum(o => o.Epochs) : null;
    }

    /// <summary>h:mm:ss, or m:ss under an hour.</summary>
    public static string Format(double seconds)
    {
        long s = (long)Math.Round(seconds);
        return s >= 3600 ? $"{s / 3600}:{s % 3600 / 60:D2}:{s % 60:D2}" : $"{s / 60}:{s % 60:D2}";
    }
}
