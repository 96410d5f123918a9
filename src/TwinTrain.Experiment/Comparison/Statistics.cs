using MathNet.Numerics.Distributions;

namespace TwinTrain.Experiment.Comparison;

/// <summary>A t-based test of a mean difference a − b, with its confidence interval.</summary>
public sealed record TTest(double Difference, double StandardError, double T, double DegreesOfFreedom, double PValue,
    double Lower, double Upper, double Confidence, int Pairs = 0)
{
    public bool Significant => PValue < 1 - Confidence;
}

/// <summary>
/// The two one-sided tests of equivalence (Schuirmann's TOST) against ±margin: the difference is shown to lie within
/// the margin when both one-sided p-values are below 5%, i.e. when the 90% interval lies inside ±margin.
/// </summary>
public sealed record EquivalenceTest(double Margin, double PLower, double PUpper, double Lower90, double Upper90, bool Paired)
{
    public double PValue => Math.Max(PLower, PUpper);
    public bool Equivalent => PValue < 0.05;
}

/// <summary>
/// A percentile bootstrap interval of the mean difference (resampling seeds, deterministically), from
/// <see cref="Samples"/> pairs (paired) or runs of the smaller side (unpaired). Below
/// <see cref="Statistics.BootstrapMinimumSamples"/> it is not <see cref="Reliable"/>: the percentile interval of a
/// small sample is too narrow (it ignores that the spread itself is estimated, and n pairs have only C(2n−1, n)
/// distinct resamples: 10 for 3), so it is never shown as a conclusion then (Hesterberg 2015, "What Teachers Should
/// Know About the Bootstrap", The American Statistician 69(4); Efron and Tibshirani 1993, An Introduction to the
/// Bootstrap, ch. 13-14, where BCa and bootstrap-t are the remedies).
/// </summary>
public sealed record BootstrapInterval(double Lower, double Upper, int Resamples, bool Paired, int Samples = 0)
{
    public bool Reliable => Samples >= Statistics.BootstrapMinimumSamples;

    /// <summary>How many different resamples n values have (multisets of size n): C(2n − 1, n).</summary>
    public double DistinctResamples => Statistics.Binomial(2 * Samples - 1, Samples);
}

/// <summary>
/// The statistics the comparison reports, on top of MathNet.Numerics's Student's t distribution: Welch's and the
/// paired t-test, TOST equivalence, a bootstrap interval, the probability of superiority and a sample-size estimate.
/// </summary>
public static class Statistics
{
    public static double Mean(IReadOnlyList<double> values) => values.Count == 0 ? double.NaN : values.Average();

    /// <summary>Sample standard deviation (n − 1 in the denominator); NaN for fewer than two values.</summary>
    public static double StandardDeviation(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return double.NaN;
        double mean = Mean(values);
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    /// <summary>P(|T| ≥ |t|) for Student's t with <paramref name="df"/> degrees of freedom.</summary>
    public static double TwoSidedP(double t, double df) => 2 * StudentT.CDF(0, 1, df, -Math.Abs(t));

    /// <summary>The p-quantile of Student's t (p in (0, 1)).</summary>
    public static double StudentQuantile(double p, double df)
    {
        if (p is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p));
        return StudentT.InvCDF(0, 1, df, p);
    }

    /// <summary>Welch's t-test (unequal variances); null when either sample has fewer than two values or no spread at all.</summary>
    public static TTest? Welch(IReadOnlyList<double> a, IReadOnlyList<double> b, double confidence = 0.95)
    {
        if (WelchParts(a, b) is not var (difference, se, df)) return null;
        return TestOf(difference, se, df, confidence);
    }

    /// <summary>The paired t-test on a[i] − b[i]; null for fewer than two pairs or differences without spread.</summary>
    public static TTest? Paired(IReadOnlyList<double> a, IReadOnlyList<double> b, double confidence = 0.95)
    {
        if (a.Count != b.Count) throw new ArgumentException("Paired samples must have the same length.");
        var d = a.Zip(b, (x, y) => x - y).ToList();
        if (d.Count < 2) return null;
        double se = StandardDeviation(d) / Math.Sqrt(d.Count);
        if (IsRounding(se, Mean(d), Mean(a), Mean(b))) return null;
        return TestOf(Mean(d), se, d.Count - 1, confidence) with { Pairs = d.Count };
    }

    /// <summary>
    /// A standard error within float rounding of the values it is measured on is no spread: accuracies of 0.345 and
    /// 0.295 in one seed, 0.3425 and 0.2925 in the other, differ by 0.05 both times, yet their subtraction leaves a
    /// spread of about 1e-17, and a t of 1e15 from it would be nonsense.
    /// </summary>
    static bool IsRounding(double se, params double[] scale) => !(se > 1e-12 * scale.Max(Math.Abs));

    static TTest TestOf(double difference, double se, double df, double confidence)
    {
        double t = difference / se;
        double half = StudentQuantile(1 - (1 - confidence) / 2, df) * se;
        return new TTest(difference, se, t, df, TwoSidedP(t, df), difference - half, difference + half, confidence);
    }

    static (double Difference, double StandardError, double DegreesOfFreedom)? WelchParts(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count < 2 || b.Count < 2) return null;
        double va = Math.Pow(StandardDeviation(a), 2) / a.Count, vb = Math.Pow(StandardDeviation(b), 2) / b.Count;
        double se = Math.Sqrt(va + vb);
        if (IsRounding(se, Mean(a), Mean(b))) return null;
        double df = (va + vb) * (va + vb) / (va * va / (a.Count - 1) + vb * vb / (b.Count - 1));
        return (Mean(a) - Mean(b), se, df);
    }

    /// <summary>TOST against ±<paramref name="margin"/>, from a paired or Welch test's difference, standard error and degrees of freedom.</summary>
    public static EquivalenceTest Equivalence(TTest test, double margin)
    {
        double lower = (test.Difference + margin) / test.StandardError, upper = (test.Difference - margin) / test.StandardError;
        double pLower = 1 - StudentT.CDF(0, 1, test.DegreesOfFreedom, lower), pUpper = StudentT.CDF(0, 1, test.DegreesOfFreedom, upper);
        double half = StudentQuantile(0.95, test.DegreesOfFreedom) * test.StandardError;
        return new EquivalenceTest(margin, pLower, pUpper, test.Difference - half, test.Difference + half, test.Pairs > 0);
    }

    /// <summary>
    /// The 95% percentile bootstrap interval of the mean difference: paired differences resampled when
    /// <paramref name="paired"/>, else each sample on its own. A fixed seed makes the report reproducible.
    /// </summary>
    public static BootstrapInterval? Bootstrap(IReadOnlyList<double> a, IReadOnlyList<double> b, bool paired, int resamples = 10_000, int seed = 20_240_601)
    {
        if (a.Count < 2 || b.Count < 2 || (paired && a.Count != b.Count)) return null;
        var random = new Random(seed);
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double sum = 0;
            if (paired)
            {
                for (int i = 0; i < a.Count; i++) { int k = random.Next(a.Count); sum += a[k] - b[k]; }
                means[r] = sum / a.Count;
                continue;
            }
            for (int i = 0; i < a.Count; i++) sum += a[random.Next(a.Count)];
            double meanA = sum / a.Count;
            sum = 0;
            for (int i = 0; i < b.Count; i++) sum += b[random.Next(b.Count)];
            means[r] = meanA - sum / b.Count;
        }
        Array.Sort(means);
        return new BootstrapInterval(Quantile(means, 0.025), Quantile(means, 0.975), resamples, paired, Math.Min(a.Count, b.Count));
    }

    /// <summary>The fewest pairs (or runs per side) for which TwinTrain shows a percentile bootstrap interval (see <see cref="BootstrapInterval"/>).</summary>
    public const int BootstrapMinimumSamples = 10;

    /// <summary>n choose k, as a double (exact for the small numbers it is used with).</summary>
    public static double Binomial(int n, int k)
    {
        if (k < 0 || k > n) return 0;
        double result = 1;
        for (int i = 1; i <= k; i++) result = result * (n - k + i) / i;
        return Math.Round(result);
    }

    /// <summary>
    /// The fewest pairs for which a two-sided paired t-test (α = 5%) has the given power when the true difference is
    /// <paramref name="difference"/> and the paired differences spread by <paramref name="sd"/>: the smallest n with
    /// n ≥ ((t₁₋α/2,n−1 + t₁₋β,n−1)·sd / difference)² (Chow, Shao and Wang, §3.2). Null for a difference of 0.
    /// </summary>
    public static int? SeedsForDifference(double difference, double sd, double power = 0.8, int limit = 100_000)
    {
        if (difference == 0 || double.IsNaN(sd) || double.IsNaN(difference)) return null;
        if (sd == 0) return 2;
        for (int n = 2; n <= limit; n++)
        {
            double t = StudentQuantile(0.975, n - 1) + StudentQuantile(power, n - 1);
            if (n >= t * t * sd * sd / (difference * difference)) return n;
        }
        return null;
    }

    /// <summary>The q-quantile of sorted values, interpolating linearly (R's type 7, numpy's default).</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        double position = q * (sorted.Count - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>P(a run of a beats a run of b) over every pair of runs, ties counting half (the common-language effect size).</summary>
    public static double ProbabilityOfSuperiority(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count == 0 || b.Count == 0) return double.NaN;
        double wins = 0;
        foreach (double x in a)
            foreach (double y in b)
                wins += x > y ? 1 : x == y ? 0.5 : 0;
        return wins / (a.Count * b.Count);
    }

    /// <summary>
    /// The fewest pairs for which a paired TOST at ±<paramref name="margin"/> (α = 5%) has the given power when the
    /// true difference is <paramref name="difference"/> and the paired differences spread by <paramref name="sd"/>:
    /// the smallest n with n ≥ ((t₁₋α,n−1 + t₁₋β,n−1)·sd / (margin − |difference|))², β halved when the difference is 0
    /// (Chow, Shao and Wang, Sample Size Calculations in Clinical Research, §3.2). Null when no number of seeds can
    /// show it: the difference is at or beyond the margin.
    /// </summary>
    public static int? SeedsForEquivalence(double difference, double sd, double margin, double power = 0.8, int limit = 100_000)
    {
        double room = margin - Math.Abs(difference);
        if (room <= 0 || double.IsNaN(sd)) return null;
        if (sd == 0) return 2;
        double beta = difference == 0 ? (1 - power) / 2 : 1 - power;
        for (int n = 2; n <= limit; n++)
        {
            double t = StudentQuantile(0.95, n - 1) + StudentQuantile(1 - beta, n - 1);
            if (n >= t * t * sd * sd / (room * room)) return n;
        }
        return null;
    }

    /// <summary>
    /// Holm's step-down adjustment of p-values (Holm 1979): the i-th smallest of m is multiplied by m − i + 1, kept
    /// monotone and capped at 1. NaN entries (no test) stay NaN and do not count among the m.
    /// </summary>
    public static double[] Holm(IReadOnlyList<double> pValues)
    {
        var adjusted = pValues.Select(_ => double.NaN).ToArray();
        var order = Enumerable.Range(0, pValues.Count).Where(i => !double.IsNaN(pValues[i])).OrderBy(i => pValues[i]).ToList();
        double running = 0;
        for (int rank = 0; rank < order.Count; rank++)
        {
            running = Math.Max(running, Math.Min(1, (order.Count - rank) * pValues[order[rank]]));
            adjusted[order[rank]] = running;
        }
        return adjusted;
    }
}
