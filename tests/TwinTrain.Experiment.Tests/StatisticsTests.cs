using TwinTrain.Experiment.Comparison;

namespace TwinTrain.Experiment.Tests;

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
    public void Should_give_known_p_values_and_log_gamma()
    {
        Assert.Equal(0.05, Statistics.TwoSidedP(2.228139, 10), 6);
        Assert.Equal(1.0, Statistics.TwoSidedP(0, 7), 12);
        Assert.Equal(Math.Log(24), Statistics.LogGamma(5), 12);
        Assert.Equal(0.5 * Math.Log(Math.PI), Statistics.LogGamma(0.5), 12);
        // I_x(1, 1) = x; I_x(a, 1) = x^a.
        Assert.Equal(0.3, Statistics.RegularizedIncompleteBeta(0.3, 1, 1), 12);
        Assert.Equal(Math.Pow(0.6, 2.5), Statistics.RegularizedIncompleteBeta(0.6, 2.5, 1), 12);
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
