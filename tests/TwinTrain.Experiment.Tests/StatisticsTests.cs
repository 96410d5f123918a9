using TwinTrain.Experiment.Comparison;

namespace TwinTrain.Experiment.Tests;

/// <summary>The comparison's statistics against tabulated values (Student's t tables; R's pt/qt give the same digits).</summary>
public class StatisticsTests
{
    [Theory]
    [InlineData(5, 2.570582)]    // Student's t table, two-sided 95%
    [InlineData(10, 2.228139)]
    [InlineData(2, 4.302653)]
    [InlineData(1000, 1.962339)]
    public void Should_give_the_tabulated_97_5_percent_quantiles(double df, double expected) =>
        Assert.Equal(expected, Statistics.StudentQuantile(0.975, df), 5);

    [Fact]
    public void Should_give_known_p_values()
    {
        Assert.Equal(0.05, Statistics.TwoSidedP(2.228139, 10), 6);
        Assert.Equal(1.0, Statistics.TwoSidedP(0, 7), 12);
        Assert.Equal(2 * 0.006672, Statistics.TwoSidedP(-3, 10), 5); // pt(-3, 10) = 0.006672
    }

    [Fact]
    public void Should_compute_welchs_test_for_a_worked_example()
    {
        // x = 1..5 (mean 3, variance 2.5), y = 2, 4, .., 10 (mean 6, variance 10).
        var test = Statistics.Welch([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])!;
        Assert.Equal(-3, test.Difference, 12);
        Assert.Equal(Math.Sqrt(2.5), test.StandardError, 12);
        Assert.Equal(-3 / Math.Sqrt(2.5), test.T, 12);
        Assert.Equal(6.25 / (0.0625 + 1), test.DegreesOfFreedom, 10); // (0.5 + 2)² / (0.5²/4 + 2²/4)
        double margin = Statistics.StudentQuantile(0.975, test.DegreesOfFreedom) * Math.Sqrt(2.5);
        Assert.Equal(-3 - margin, test.Lower, 10);
        Assert.Equal(-3 + margin, test.Upper, 10);
        Assert.InRange(test.PValue, 0.10, 0.115); // between the df = 5 and df = 6 values for |t| = 1.897
        Assert.False(test.Significant);
    }

    [Fact]
    public void Should_compute_the_paired_test_on_the_differences()
    {
        // Differences 0.01, 0.02, 0, 0.01: mean 0.01, sd √(0.0002/3), t = √6 = 2.449, df 3; 2·pt(−2.449, 3) = 0.0917.
        var test = Statistics.Paired([0.70, 0.72, 0.69, 0.71], [0.69, 0.70, 0.69, 0.70])!;
        Assert.Equal(0.01, test.Difference, 12);
        Assert.Equal(Math.Sqrt(6), test.T, 9);
        Assert.Equal(3, test.DegreesOfFreedom);
        Assert.Equal(0.0917, test.PValue, 4);
        Assert.Equal(4, test.Pairs);
        // Unpaired, the same data show far less: the seeds' shared part of the spread is not removed.
        Assert.True(Statistics.Welch([0.70, 0.72, 0.69, 0.71], [0.69, 0.70, 0.69, 0.70])!.PValue > test.PValue);
    }

    [Fact]
    public void Should_see_no_spread_in_differences_equal_but_for_float_rounding()
    {
        // 0.345 − 0.295 and 0.3425 − 0.2925 are both 0.05, but not to the last bit: a Slurm test's two seeds gave
        // t = 1.8e15 and p = 0.000 from them before. No spread, so no paired test (and the verdict says why).
        double[] keras = [0.345, 0.3425], torch = [0.295, 0.2925];
        Assert.NotEqual(0, Statistics.StandardDeviation([keras[0] - torch[0], keras[1] - torch[1]]));
        Assert.Null(Statistics.Paired(keras, torch));
        Assert.Null(Statistics.Welch([0.3, 0.1 + 0.2], [0.2, 0.2]));
        Assert.NotNull(Statistics.Paired([0.345, 0.3450001], [0.295, 0.295]));
    }

    [Fact]
    public void Should_give_the_two_one_sided_p_values_of_an_equivalence_test()
    {
        // Difference 0.1, standard error 0.2, df 10, margin ±0.5: t = 3 and −2; pt(−3, 10) = 0.006672, pt(−2, 10) = 0.036694.
        var tost = Statistics.Equivalence(new TTest(0.1, 0.2, 0.5, 10, 0.63, 0, 0, 0.95, Pairs: 11), margin: 0.5);
        Assert.Equal(0.006672, tost.PLower, 6);
        Assert.Equal(0.036694, tost.PUpper, 6);
        Assert.True(tost.Equivalent);
        Assert.Equal(0.1 - 1.812461 * 0.2, tost.Lower90, 6); // qt(0.95, 10) = 1.812461
        Assert.False(Statistics.Equivalence(new TTest(0.1, 0.2, 0.5, 10, 0.63, 0, 0, 0.95), margin: 0.3).Equivalent);
    }

    [Fact]
    public void Should_bootstrap_deterministically_within_the_data()
    {
        double[] a = [0.70, 0.71, 0.69, 0.72, 0.68], b = [0.69, 0.70, 0.70, 0.70, 0.69];
        var first = Statistics.Bootstrap(a, b, paired: true)!;
        Assert.Equal(first, Statistics.Bootstrap(a, b, paired: true));
        var differences = a.Zip(b, (x, y) => x - y).ToArray();
        Assert.InRange(first.Lower, differences.Min(), differences.Average());
        Assert.InRange(first.Upper, differences.Average(), differences.Max());
        var constant = Statistics.Bootstrap([0.7, 0.8, 0.9], [0.6, 0.7, 0.8], paired: true)!;
        Assert.Equal(0.1, constant.Lower, 12);
        Assert.Equal(0.1, constant.Upper, 12);
    }

    [Fact]
    public void Should_count_ties_as_half_in_the_probability_of_superiority()
    {
        Assert.Equal(0.5, Statistics.ProbabilityOfSuperiority([1, 2, 3], [2]));
        Assert.Equal(1.0, Statistics.ProbabilityOfSuperiority([5, 6], [1, 2, 3]));
    }

    [Fact]
    public void Should_estimate_the_seeds_an_equivalence_needs()
    {
        // sd = margin, no difference, 80% power: the smallest n ≥ (t.95,n−1 + t.90,n−1)², which is n = 11 (10.14 at n = 11; 10.34 at n = 10).
        Assert.Equal(11, Statistics.SeedsForEquivalence(0, 1, 1));
        Assert.True(Statistics.SeedsForEquivalence(0.5, 1, 1) > 11); // less room inside the margin needs more seeds
        Assert.Null(Statistics.SeedsForEquivalence(1.2, 1, 1));     // a difference beyond the margin cannot be shown equivalent
        Assert.Equal(2, Statistics.SeedsForEquivalence(0.1, 0, 1));
    }

    [Fact]
    public void Should_find_a_clear_difference_significant_and_refuse_degenerate_samples()
    {
        var test = Statistics.Welch([0.70, 0.71, 0.69], [0.60, 0.61, 0.59])!;
        Assert.True(test.Significant);
        Assert.True(test.Lower > 0);
        Assert.Null(Statistics.Welch([0.7], [0.6, 0.61]));
        Assert.Null(Statistics.Welch([0.7, 0.7], [0.6, 0.6]));
        Assert.Equal(0.01, Statistics.StandardDeviation([0.70, 0.71, 0.69]), 12);
    }
}
