using System.Globalization;
using System.Text;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Experiment.Comparison;

/// <summary>The comparison's short summary for the terminal: one row per framework, the conclusions, the ablation, the machine's load.</summary>
public static class SummaryTable
{

    public static string Format(ComparisonResult result)
    {
        var text = new StringBuilder();
        if (result.Main is { Condition: not Alignments.None } main) text.AppendLine(F($"Aligned: {string.Join(", ", main.Aligned)}"));
        text.AppendLine(F($"{"framework",-10} {"runs",4} {"test accuracy",18} {"train s",9} {"s/epoch",8} {"img/s",7} {"run MiB",8}"));
        foreach (var s in result.Summaries)
        {
            string spread = double.IsNaN(s.TestAccuracyStd) ? "" : F($" ± {100 * s.TestAccuracyStd:F2}");
            text.AppendLine(F($"{s.Framework,-10} {s.Runs,4} {$"{100 * s.TestAccuracyMean:F2}{spread} %",18} {s.TrainingSecondsMean,9:F1} {s.SecondsPerEpochMean,8:F1} {s.ImagesPerSecondMean,7:F0} {(s.RunMemoryBytesMax ?? s.PeakMemoryBytesMax) / 1048576.0,8:F0}"));
        }
        foreach (var measure in result.Summaries.GroupBy(s => s.RunMemoryMeasure ?? "the peak of its process (these runs are from before the per-run measure)"))
            text.AppendLine(F($"  run MiB of {string.Join(", ", measure.Select(s => s.Framework))}: {measure.Key}"));
        foreach (var failed in result.Runs.Where(r => r.Error is not null && r.Condition == (result.Main?.Condition ?? Alignments.None)))
            text.AppendLine(F($"{failed.Framework,-10} seed {failed.Seed} failed: {failed.Error}"));
        foreach (var diverged in result.Runs.Where(r => r.Summary?.Status == RunSummary.Diverged))
            text.AppendLine(F($"{diverged.Framework,-10} seed {diverged.Seed} diverged at {diverged.Summary!.DivergedAt}{(diverged.Summary.DivergedBecause is { } why ? $": {why}" : "")} (not in the statistics)."));
        foreach (var time in result.Main?.TimeToAccuracy ?? [])
            text.AppendLine(F($"time to {100 * time.Target:0.#} % test accuracy, {time.Framework}: ") + (time.Reached == 0
                ? F($"not reached in {time.Runs} run(s)")
                : F($"{time.MeanSeconds:F1}{(double.IsNaN(time.StdSeconds) ? "" : F($" ± {time.StdSeconds:F1}"))} s of training ({time.Reached} of {time.Runs} runs reached it)")));
        if (result.Summaries.Count < 2)
            text.AppendLine(F($"No comparison: {(result.Summaries.Count == 0 ? "no framework" : $"only {result.Summaries[0].Framework}")} completed a run of the {result.Config.Frameworks.Count} named ({string.Join(", ", result.Config.Frameworks)}); a comparison needs two."));
        else if (result.Pairs.Count == 0) text.AppendLine("Too few seeds for a test of the difference (two or more per framework are needed).");
        if (result.Pairs.Count > 1)
        {
            text.AppendLine(F($"Every pair (row − column, paired by seed, points; p Holm-adjusted over {result.Pairs.Count} pairs):"));
            foreach (var line in Matrix(result)) text.AppendLine("  " + line);
        }
        foreach (var c in result.Pairs) AppendConclusion(text, c);
        foreach (var pair in result.Factors.GroupBy(f => (f.A, f.B)))
        {
            text.AppendLine(F($"Ablation: what aligning each default changes in the {pair.Key.A} − {pair.Key.B} gap (paired by seed, 95% CI):"));
            text.AppendLine(F($"  {"aligned",-14} {"seeds",5} {"test accuracy (points)",32} {"final training loss",30}"));
            foreach (var f in pair)
                text.AppendLine(F($"  {f.Condition,-14} {f.Seeds,5} {Effect(100 * f.AccuracyGap, f.OnAccuracyGap, 100, 2),32} {Effect(f.LossGap, f.OnLossGap, 1, 4),30}"));
        }
        foreach (var line in DisturbedLines(result)) text.AppendLine(line);
        // The study's figures are CIFAR-10's: beside another data set's they would read as a comparison.
        if (result.Data.IsStudysDataset)
            text.AppendLine("The study (official CIFAR-10, Colab GPU): TensorFlow 68.78 %, PyTorch 68.95 %; 715 s vs 723 s.");
        if (result.Interrupted) text.AppendLine("Interrupted: run the same command again to continue.");
        return text.ToString();
    }

    static void AppendConclusion(StringBuilder text, AccuracyConclusion c)
    {
        string Interval(double lower, double upper) => F($"[{100 * lower:+0.00;-0.00}, {100 * upper:+0.00;-0.00}]");
        if (c.Paired is { } p)
            text.AppendLine(F($"{c.A} − {c.B}, paired by seed ({p.Pairs} pairs): {100 * p.Difference:+0.00;-0.00} points, 95% CI {Interval(p.Lower, p.Upper)}, t = {p.T:F2}, df = {p.DegreesOfFreedom:F0}, p = {p.PValue:F3}") +
                (c.Comparisons > 1 ? F($" (Holm-adjusted over {c.Comparisons} pairs: {c.DifferenceP:F3})") : ""));
        else if (c.PairedSeeds >= 2 && !c.IdenticalInEverySeed)
            // Not left out without a word: every seed's gap is the same, so a paired t has no spread to divide by.
            text.AppendLine($"{c.A} − {c.B}, paired by seed ({c.PairedSeeds} pairs): every pair differs by the same amount, so there is no spread for a paired test; the verdict rests on Welch's test.");
        if (c.Welch is { } w)
            text.AppendLine(F($"{c.A} − {c.B}, Welch: {100 * w.Difference:+0.00;-0.00} points, 95% CI {Interval(w.Lower, w.Upper)}, t = {w.T:F2}, df = {w.DegreesOfFreedom:F1}, p = {w.PValue:F3}"));
        if (c.Bootstrap is { } b) text.AppendLine(BootstrapLine(b, Interval(b.Lower, b.Upper)));
        text.AppendLine(SuperiorityLine(c));
        text.AppendLine("Verdict: " + c.Verdict);
    }

    /// <summary>The bootstrap interval, or why it is left out: never a narrower interval that reads as a conclusion.</summary>
    public static string BootstrapLine(BootstrapInterval b, string interval) => b.Reliable
        ? F($"bootstrap 95% CI of the mean difference {interval} ({b.Resamples:N0} resamples of the {b.Samples} {(b.Paired ? "pairs" : "runs")})")
        : F($"bootstrap interval left out: {b.Samples} {(b.Paired ? "pairs" : "runs")} have only {b.DistinctResamples:N0} distinct resamples, and below {Statistics.BootstrapMinimumSamples} a percentile bootstrap interval is too narrow to trust; read the t interval");

    /// <summary>How often a run of A beats a run of B, with how many runs it rests on.</summary>
    public static string SuperiorityLine(AccuracyConclusion c) =>
        F($"P({c.A} run beats {c.B} run) = {c.ProbabilityABeatsB:F2}, from {c.RunsA} × {c.RunsB} runs") +
        (c.PairedSeeds > 0 ? F($"; {c.A} better in {c.ABetterSeeds} of {c.PairedSeeds} seeds") : "");

    /// <summary>
    /// The pairs as a matrix (the summary's and the report's): a header, then a row per framework but the last with a
    /// column per framework but the first; each cell the row's accuracy minus the column's in points with its 95%
    /// interval, the (Holm-adjusted) p and the verdict's first words.
    /// </summary>
    public static IReadOnlyList<string[]> PairMatrix(ComparisonResult result)
    {
        static string P(double fraction) => (100 * fraction).ToString("+0.00;-0.00", CultureInfo.InvariantCulture);
        var names = result.Config.Frameworks;
        var rows = new List<string[]> { new[] { "row − column (points)" }.Concat(names.Skip(1)).ToArray() };
        foreach (string row in names.SkipLast(1))
            rows.Add([row, .. names.Skip(1).Select(column => result.Pairs.FirstOrDefault(p => p.A == row && p.B == column) is { Main: { } t } c
                ? F($"{P(t.Difference)} [{P(t.Lower)}, {P(t.Upper)}], p {c.DifferenceP:F3}: {c.Outcome}") : "")]);
        return rows;
    }

    /// <summary><see cref="PairMatrix"/> as aligned text columns.</summary>
    public static IEnumerable<string> Matrix(ComparisonResult result)
    {
        var rows = PairMatrix(result);
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        return rows.Select(r => string.Join("   ", r.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
    }

    /// <summary>A mean effect and its 95% interval, e.g. "+0.42 [-0.10, +0.94]".</summary>
    public static string Effect(double mean, TTest? test, double scale, int decimals)
    {
        string format = "+0." + new string('0', decimals) + ";-0." + new string('0', decimals);
        string N(double value) => value.ToString(format, CultureInfo.InvariantCulture);
        return test is null ? $"{N(mean)} (one seed: no CI)" : $"{N(mean)} [{N(scale * test.Lower)}, {N(scale * test.Upper)}]";
    }

    /// <summary>A warning per disturbed run, saying which figures it affects; empty when the machine was quiet.</summary>
    public static IEnumerable<string> DisturbedLines(ComparisonResult result)
    {
        var disturbed = result.Disturbed;
        if (disturbed.Count == 0)
        {
            var loads = result.Runs.Where(r => r.Summary?.Load is not null).Select(r => r.Summary!.Load!).ToList();
            if (loads.Count > 0)
                yield return F($"Machine load: quiet during every run (other processes at most {loads.Max(l => l.OtherCores):F2} cores on average, steal at most {loads.Max(l => l.StealCores):F2}).");
            yield break;
        }
        yield return F($"Warning: the machine was busy during {disturbed.Count} of {result.Runs.Count} runs, so their times, epochs per second and images per second are not representative (accuracy and loss are not affected):");
        foreach (var run in disturbed)
            yield return F($"  {run.Framework} seed {run.Seed}{(run.Condition == Alignments.None ? "" : $" (aligned: {run.Condition})")}: {run.Summary!.Load!.Describe()}");
    }
}
