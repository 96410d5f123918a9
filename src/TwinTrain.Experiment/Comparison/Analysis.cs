using System.Globalization;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Experiment.Comparison;

/// <summary>Seconds of training until the test accuracy first reached a level (MLPerf's and DAWNBench's measure), per framework.</summary>
public sealed record TimeToAccuracy(string Framework, double Target, int Reached, int Runs, double MeanSeconds, double StdSeconds);

/// <summary>
/// What can be concluded about test accuracy A − B: the paired difference (runs paired by seed: the same data order,
/// and the same initial weights when init is aligned) beside Welch's, the equivalence test at the margin, a bootstrap
/// interval, how often an A run beats a B run, and how many seeds an equivalence would need at the observed spread.
/// </summary>
public sealed record AccuracyConclusion(
    string A, string B, TTest? Welch, TTest? Paired, EquivalenceTest? Equivalence, BootstrapInterval? Bootstrap,
    double ProbabilityABeatsB, int ABetterSeeds, int PairedSeeds, int? SeedsNeeded, string Verdict,
    int Comparisons = 1, double? HolmPValue = null, double? HolmEquivalencePValue = null, bool IdenticalInEverySeed = false,
    int? SeedsForDifference = null, int RunsA = 0, int RunsB = 0)
{
    /// <summary>The test the verdict rests on: paired when there are two or more pairs, else Welch's.</summary>
    public TTest? Main => Paired ?? Welch;

    /// <summary>The difference test's p-value after Holm's correction over every pair of frameworks (the raw one for a single pair).</summary>
    public double? DifferenceP => HolmPValue ?? Main?.PValue;

    /// <summary>The equivalence test's p-value after Holm's correction over every pair (the raw one for a single pair).</summary>
    public double? EquivalenceP => HolmEquivalencePValue ?? Equivalence?.PValue;

    /// <summary>The verdict in two or three words, for a matrix cell: identical, equivalent, different, neither shown, too few runs.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Outcome => Verdict.StartsWith("Identical", StringComparison.Ordinal) ? "identical"
        : Verdict.StartsWith("Equivalent", StringComparison.Ordinal) ? "equivalent"
        : Verdict.StartsWith("Different", StringComparison.Ordinal) ? "different"
        : Verdict.StartsWith("No significant difference", StringComparison.Ordinal) ? "neither shown" : "too few runs";
}

/// <summary>One alignment condition of a comparison (every seed of both frameworks): its summaries and conclusions.</summary>
public sealed record ConditionResult(string Condition, IReadOnlyList<string> Aligned, IReadOnlyList<FrameworkSummary> Summaries,
    IReadOnlyList<AccuracyConclusion> Pairs, IReadOnlyList<TimeToAccuracy> TimeToAccuracy)
{
    /// <summary>The first pair's conclusion (of the first two frameworks named): the headline of a two-framework comparison.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public AccuracyConclusion? Accuracy => Pairs.Count > 0 ? Pairs[0] : null;
}

/// <summary>
/// What aligning some defaults changed in the gap between the frameworks (A − B), against nothing aligned: on test
/// accuracy and on the last epoch's training loss, each with a 95% interval (paired by seed).
/// </summary>
public sealed record FactorEffect(string Condition, IReadOnlyList<string> Aligned, double AccuracyGap, TTest? OnAccuracyGap, double LossGap, TTest? OnLossGap, int Seeds,
    string A = "keras", string B = "torch");

/// <summary>Turns the runs of a comparison into its conclusions.</summary>
public static class Analysis
{

    /// <summary>
    /// Every pair of frameworks (in the given order: A before B), each paired by seed, with Holm's step-down correction
    /// over the pairs applied to the difference tests and, separately, to the equivalence tests, so that with k
    /// frameworks the chance of any false "different" (or "equivalent") stays at 5%. One pair is left as it is.
    /// </summary>
    public static IReadOnlyList<AccuracyConclusion> ConcludeAll(IReadOnlyList<string> frameworks,
        IReadOnlyDictionary<string, List<(int Seed, double Value)>> accuracies, double marginPoints)
    {
        var pairs = new List<AccuracyConclusion>();
        for (int i = 0; i < frameworks.Count; i++)
            for (int j = i + 1; j < frameworks.Count; j++)
                if (accuracies.TryGetValue(frameworks[i], out var a) && accuracies.TryGetValue(frameworks[j], out var b)
                    && Conclude(frameworks[i], frameworks[j], a, b, marginPoints) is { } conclusion)
                    pairs.Add(conclusion);
        if (pairs.Count < 2) return pairs;
        var difference = Statistics.Holm([.. pairs.Select(c => c.Main?.PValue ?? double.NaN)]);
        var equivalence = Statistics.Holm([.. pairs.Select(c => c.Equivalence?.PValue ?? double.NaN)]);
        return [.. pairs.Select((c, k) =>
        {
            var adjusted = c with { Comparisons = pairs.Count, HolmPValue = NaNToNull(difference[k]), HolmEquivalencePValue = NaNToNull(equivalence[k]) };
            return adjusted with { Verdict = Verdict(adjusted, marginPoints) };
        })];
    }

    static double? NaNToNull(double value) => double.IsNaN(value) ? null : value;

    public static AccuracyConclusion? Conclude(string a, string b, IReadOnlyList<(int Seed, double Value)> runsA, IReadOnlyList<(int Seed, double Value)> runsB, double marginPoints)
    {
        if (runsA.Count == 0 || runsB.Count == 0) return null;
        var valuesA = runsA.Select(r => r.Value).ToList();
        var valuesB = runsB.Select(r => r.Value).ToList();
        var pairs = runsA.Join(runsB, x => x.Seed, y => y.Seed, (x, y) => (A: x.Value, B: y.Value)).ToList();
        var welch = Statistics.Welch(valuesA, valuesB);
        var paired = pairs.Count >= 2 ? Statistics.Paired([.. pairs.Select(p => p.A)], [.. pairs.Select(p => p.B)]) : null;
        var main = paired ?? welch;
        double margin = marginPoints / 100;
        var equivalence = main is null ? null : Statistics.Equivalence(main, margin);
        var bootstrap = paired is not null
            ? Statistics.Bootstrap([.. pairs.Select(p => p.A)], [.. pairs.Select(p => p.B)], paired: true)
            : Statistics.Bootstrap(valuesA, valuesB, paired: false);
        // The spread of a paired difference; unpaired, that of the difference of two independent runs.
        double sd = paired is not null ? Statistics.StandardDeviation([.. pairs.Select(p => p.A - p.B)])
            : Math.Sqrt(Math.Pow(Statistics.StandardDeviation(valuesA), 2) + Math.Pow(Statistics.StandardDeviation(valuesB), 2));
        int? needed = main is null ? null : Statistics.SeedsForEquivalence(main.Difference, sd, margin);
        var conclusion = new AccuracyConclusion(a, b, welch, paired, equivalence, bootstrap, Statistics.ProbabilityOfSuperiority(valuesA, valuesB),
            pairs.Count(p => p.A > p.B), pairs.Count, needed, "", IdenticalInEverySeed: pairs.Count >= 2 && pairs.All(p => p.A == p.B),
            SeedsForDifference: main is null ? null : Statistics.SeedsForDifference(main.Difference, sd), RunsA: valuesA.Count, RunsB: valuesB.Count);
        return conclusion with { Verdict = Verdict(conclusion, marginPoints) };
    }

    /// <summary>
    /// The verdict in one sentence that says what follows from the numbers (the rules are in the README, "What the
    /// verdicts mean"): identical; equivalent (TOST inside the margin); different (the 95% interval excludes zero),
    /// beyond or possibly within the margin; or neither shown, with the seeds each decision would need at the observed
    /// spread.
    /// </summary>
    static string Verdict(AccuracyConclusion c, double marginPoints)
    {
        string margin = F($"±{marginPoints:0.0##} points");
        // Every pair of runs the same to the last bit: no spread, so no t-test is defined, and none is needed.
        if (c.IdenticalInEverySeed)
            return F($"Identical: the same test accuracy in each of the {c.PairedSeeds} seeds (paired difference exactly 0, no spread), so no test is needed; for these seeds the two agree within any margin.");
        if (c.Main is not { } test || c.Equivalence is not { } tost)
            return "Not enough runs to tell: two or more completed seeds per framework are needed for any test.";
        double p = c.DifferenceP ?? test.PValue, tostP = c.EquivalenceP ?? tost.PValue;
        bool significant = p < 1 - test.Confidence, equivalent = tostP < 0.05;
        string holm = c.Comparisons > 1 ? F($", Holm-adjusted over {c.Comparisons} pairs") : "";
        string difference = F($"{100 * test.Difference:+0.00;-0.00} points");
        if (equivalent)
            return F($"Equivalent within {margin}: the 90% interval [{100 * tost.Lower90:+0.00;-0.00}, {100 * tost.Upper90:+0.00;-0.00}] lies inside the margin (TOST p = {tostP:0.000}{holm}).") +
                (significant ? F($" The difference of {difference} is statistically detectable, but smaller than the margin.") : "");
        if (significant)
            return F($"Different: {difference}, the 95% interval [{100 * test.Lower:+0.00;-0.00}, {100 * test.Upper:+0.00;-0.00}] excludes zero (p = {p:0.000}{holm})") +
                (tost.Lower90 > tost.Margin || tost.Upper90 < -tost.Margin ? F($", and the difference is beyond {margin}.") : F($"; whether it is beyond {margin} is not shown."));
        string neither = F($"No significant difference (p = {p:0.000}{holm}), and not equivalent within {margin} (TOST p = {tostP:0.000}): ");
        string forDifference = c.SeedsForDifference is int d ? F($"about {d} seeds would show whether it is real (80% power at the observed spread)") : "";
        if (c.SeedsNeeded is not int forEquivalence)
            return neither + F($"the observed {difference} is at or beyond the margin, so no number of seeds would show equivalence") +
                (forDifference.Length > 0 ? "; " + forDifference + "." : ".");
        return neither + F($"the observed {difference} is within the margin but the interval is too wide; at the observed spread about {forEquivalence} seeds would show equivalence") +
            (forDifference.Length > 0 ? F($", and about {c.SeedsForDifference} a difference of this size (80% power).") : " (80% power).");
    }

    /// <summary>Per framework and target: the training seconds (evaluation not counted) until the test accuracy first reached the target.</summary>
    public static IEnumerable<TimeToAccuracy> TimesToAccuracy(string framework, IReadOnlyList<RunSummary> runs, IReadOnlyList<double> targets)
    {
        foreach (double target in targets)
        {
            var seconds = new List<double>();
            foreach (var run in runs)
            {
                double elapsed = 0;
                foreach (var epoch in run.History)
                {
                    elapsed += epoch.ImagesPerSecond > 0 ? run.Data.TrainImages / epoch.ImagesPerSecond : epoch.Seconds;
                    if (epoch.ValAccuracy >= target) { seconds.Add(elapsed); break; }
                }
            }
            yield return new TimeToAccuracy(framework, target, seconds.Count, runs.Count, Statistics.Mean(seconds), Statistics.StandardDeviation(seconds));
        }
    }

    /// <summary>Every pair's (A before B in the given order) factor effects.</summary>
    public static IReadOnlyList<FactorEffect> EffectsForEveryPair(IReadOnlyList<ConditionResult> conditions, IReadOnlyList<ComparedRun> runs, IReadOnlyList<string> frameworks) =>
        [.. frameworks.SelectMany((a, i) => frameworks.Skip(i + 1).SelectMany(b => Effects(conditions, runs, a, b)))];

    /// <summary>Each aligned condition's change of the A − B gap against the condition with nothing aligned, paired by seed.</summary>
    public static IReadOnlyList<FactorEffect> Effects(IReadOnlyList<ConditionResult> conditions, IReadOnlyList<ComparedRun> runs, string a, string b)
    {
        var baseline = conditions.FirstOrDefault(c => c.Condition == Alignments.None);
        if (baseline is null) return [];
        var baseGaps = Gaps(runs, baseline.Condition, a, b);
        var effects = new List<FactorEffect>();
        foreach (var condition in conditions.Where(c => c != baseline))
        {
            var gaps = Gaps(runs, condition.Condition, a, b);
            var seeds = gaps.Keys.Intersect(baseGaps.Keys).Order().ToList();
            if (seeds.Count == 0) continue;
            var accuracy = Statistics.Paired([.. seeds.Select(s => gaps[s].Accuracy)], [.. seeds.Select(s => baseGaps[s].Accuracy)]);
            var loss = Statistics.Paired([.. seeds.Select(s => gaps[s].Loss)], [.. seeds.Select(s => baseGaps[s].Loss)]);
            effects.Add(new FactorEffect(condition.Condition, condition.Aligned,
                seeds.Average(s => gaps[s].Accuracy - baseGaps[s].Accuracy), accuracy,
                seeds.Average(s => gaps[s].Loss - baseGaps[s].Loss), loss, seeds.Count, a, b));
        }
        return effects;
    }

    /// <summary>Per seed with both frameworks completed in the condition: A − B in test accuracy and in the last training loss.</summary>
    static Dictionary<int, (double Accuracy, double Loss)> Gaps(IReadOnlyList<ComparedRun> runs, string condition, string a, string b)
    {
        var completed = runs.Where(r => r.Condition == condition && r.Summary is { Status: RunSummary.Completed, TestAccuracy: not null, History.Count: > 0 }).ToList();
        var gaps = new Dictionary<int, (double, double)>();
        foreach (var x in completed.Where(r => r.Framework == a))
            if (completed.FirstOrDefault(r => r.Framework == b && r.Seed == x.Seed) is { } y)
                gaps[x.Seed] = (x.Summary!.TestAccuracy!.Value - y.Summary!.TestAccuracy!.Value, x.Summary.History[^1].Loss - y.Summary.History[^1].Loss);
        return gaps;
    }
}
