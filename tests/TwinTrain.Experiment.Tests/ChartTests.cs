using System.Globalization;
using TwinTrain.Experiment.Comparison;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Tests;

/// <summary>The charts' log axes: ticks where a reader expects them, each label distinct and true to its position.</summary>
public class ChartTests
{
    /// <summary>Log10 ranges of the charts and around them: ten decades, a few, one, and less than a factor of two.</summary>
    public static TheoryData<double, double> Ranges => new()
    {
        { -9, 0 },                                 // same-maths: 1e-9 to 1
        { Math.Log10(1.51), Math.Log10(1.74) },    // loss-log of the study's first epochs (ticks were 1.74, 1.66, 1.58, ...)
        { Math.Log10(0.55), Math.Log10(0.9) },
        { Math.Log10(0.9), Math.Log10(1.5) },
        { Math.Log10(0.05), Math.Log10(1.5) },
        { Math.Log10(0.3), Math.Log10(2.2) },
        { -3.3, -3.29 },
        { 0, 6 },
        { -30, 12 },
    };

    [Theory]
    [MemberData(nameof(Ranges))]
    public void Should_place_log_ticks_inside_the_range_in_order_with_distinct_labels_that_read_as_their_values(double low, double high)
    {
        var (positions, labels) = Charts.LogTicks(low, high);
        Assert.True(positions.Length >= 2, $"{positions.Length} ticks for [{low}, {high}]");
        Assert.Equal(positions.Length, labels.Length);
        Assert.Equal(labels.Length, labels.Distinct().Count());
        for (int i = 0; i < positions.Length; i++)
        {
            Assert.InRange(positions[i], low - 1e-9, high + 1e-9);
            if (i > 0) Assert.True(positions[i] > positions[i - 1]);
            double value = double.Parse(labels[i], NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            Assert.Equal(Math.Pow(10, positions[i]), value, Math.Pow(10, positions[i]) * 1e-9);
        }
    }

    [Fact]
    public void Should_label_every_decade_of_the_same_maths_axis_once()
    {
        var (positions, labels) = Charts.LogTicks(-9, 0);
        Assert.Equal([-9, -8, -7, -6, -5, -4, -3, -2, -1, 0], positions);
        Assert.Equal(["1e-9", "1e-8", "1e-7", "1e-6", "1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1e0"], labels);

        var plot = Charts.SameMathsDifferences([new SameMathsResult(50, 64, 0.01, 1, "study", [.. Enumerable.Repeat(2.0, 50)],
            [.. Enumerable.Range(0, 50).Select(i => 2.0 + 1e-7 * i)], 1e-5, 1e-5, 1)]);
        plot.RenderInMemory(Charts.Width, Charts.Height); // the ticks a reader sees, at the report's size
        Assert.Equal(labels, plot.Axes.Left.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Label));
        Assert.Equal(1, plot.Axes.Bottom.Min);
        Assert.Equal(50, plot.Axes.Bottom.Max); // 50 steps end at 50, not 52
    }

    [Fact]
    public void Should_put_the_loss_log_charts_ticks_at_round_values_inside_the_plotted_losses()
    {
        var config = new TrainingConfig();
        double[] losses = [1.74, 1.66, 1.58, 1.51];
        var runs = Enumerable.Range(0, 2).Select(seed =>
        {
            var run = ConclusionTests.Run("keras", seed, config, 1.51, 0.5, 0.55, 0.6, 0.62);
            return new ComparedRun("keras", seed, $"runs/keras-seed{seed}", run with { History = [.. run.History.Select((e, i) => e with { Loss = losses[i], ValLoss = losses[i] + 0.01 * seed })] },
                null, false, config.Condition);
        }).ToList();
        var result = ComparisonResult.Of(new CompareConfig(config, [0, 1], ["keras", "torch"]), MachineInfo.Current,
            new DataSummary("test", "test", false, 0, 1000, 100), new Dictionary<string, double>(), runs, false, null, null);

        var plot = Charts.LossLog(result);
        plot.RenderInMemory(Charts.Width, Charts.Height);
        var ticks = plot.Axes.Left.TickGenerator.Ticks.Where(t => t.IsMajor).ToList();
        Assert.True(ticks.Count >= 3);
        Assert.Equal(ticks.Count, ticks.Select(t => t.Label).Distinct().Count());
        foreach (var tick in ticks)
        {
            double value = double.Parse(tick.Label, CultureInfo.InvariantCulture);
            Assert.InRange(value, 1.49, 1.76); // inside the band of the plotted means ± std
            Assert.Equal(Math.Round(value, 2), value, 12); // a round value, not 1.6627...
        }
    }
}
