using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Comparison;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Experiment.Tests;

/// <summary>The report's same-mathematics check on real images: both engines, the same weights, SGD, 50 steps.</summary>
public class SameMathsTests
{
    [Theory]
    [InlineData("study")]
    [InlineData("cifar-bn")]
    [InlineData("cifar-strided")] // stride-2 convolutions with Keras's asymmetric "same" padding
    public void Should_find_that_both_engines_compute_the_same_losses_and_weights(string arch)
    {
        var result = Assert.Single(SameMaths.Run(Architecture.Resolve(arch), SharedData.Cifar10.Train, threads: 2));
        Assert.Equal(SameMaths.Steps, result.Steps);
        Assert.True(result.Same, result.Sentence());
        Assert.True(result.FirstStepDifference < 1e-6, $"the first step is rounding alone: {result.FirstStepDifference:E2}");
        Assert.True(result.LossesA[^1] < result.LossesA[0], "50 SGD steps should lower the loss");
        Assert.Contains("compute the same thing", result.Sentence());
    }

    [Fact]
    public void Should_say_so_when_the_engines_differ_more_than_rounding()
    {
        // A first step 1e-3 apart is a different computation (say, BatchNormalization's epsilon), however small the drift after.
        var different = new SameMathsResult(50, 64, 0.01, 2, "study", [2.3023, 2.2], [2.3, 2.2], 1e-3, 1e-4, 1, 0.3);
        Assert.False(different.Same);
        Assert.Contains("more than float rounding explains", different.Sentence());
        var ties = different with { LossesA = [2.3, 2.2], MaxLossDifference = 1e-6, MaxWeightDifference = 2e-4, MaxElementDifference = 3e-2 };
        Assert.True(ties.Same);
        Assert.Contains("where max pooling meets an exact tie", ties.Sentence());
        // The report points to where they part, for the frameworks diff can look inside.
        Assert.Equal(" `twintrain diff --arch study --frameworks keras,torch` shows the first layer where they part, forward and backward.", Report.DiffPointer(different));
        Assert.Equal("", Report.DiffPointer(ties));
        Assert.Equal(" `twintrain diff --arch cifar-bn --frameworks keras --align bn` shows the first layer where keras parts from a float64 reference, forward and backward.",
            Report.DiffPointer(different with { Architecture = "cifar-bn", B = "pytorch" }));
    }
}
