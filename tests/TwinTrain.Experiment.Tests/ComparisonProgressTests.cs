using TwinTrain.Experiment.Comparison;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Tests;

public class ComparisonProgressTests
{
    static EpochRecord Epoch(double seconds) => new(1, 1, 0.5, 1, 0.5, seconds, 100);

    [Fact]
    public void Should_estimate_the_time_left_from_each_frameworks_measured_epochs()
    {
        var progress = new ComparisonProgress(totalRuns: 4, epochsPerRun: 10, ["keras", "torch"]) { Remaining = ["torch", "keras", "torch"] };
        Assert.Matches(@"^run 1 of 4, 0:00 elapsed$", progress.RunStarting("keras")); // nothing measured: no estimate yet

        progress.EpochDone("keras", Epoch(20));
        progress.EpochDone("keras", Epoch(40));
        // keras 30 s an epoch; torch unmeasured, so keras's speed stands in: 8 epochs left here + 3 runs of 10 = 38 x 30 s.
        Assert.EndsWith("about 19:00 left", progress.During("keras", 2));

        progress.RunEnded();
        progress.Remaining = ["keras", "torch"];
        Assert.StartsWith("run 2 of 4, ", progress.RunStarting("torch"));
        progress.EpochDone("torch", Epoch(60));
        // torch now 60 s an epoch: 9 torch epochs left, then keras 10 x 30 s, torch 10 x 60 s = 540 + 300 + 600 s.
        Assert.EndsWith("about 24:00 left", progress.During("torch", 1));
        Assert.Equal("1:01:05", ComparisonProgress.Format(3665));
    }
}
