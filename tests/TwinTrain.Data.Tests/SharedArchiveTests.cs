using TwinTrain.Tests.Shared;

namespace TwinTrain.Data.Tests;

/// <summary>The real CIFAR-10 beside the repository: every image is there, in the official class order.</summary>
public class SharedArchiveTests
{
    [Fact]
    public void Should_read_all_60000_shared_images_with_5000_and_1000_per_class()
    {
        var data = SharedData.Cifar10;
        Assert.Equal(50_000, data.Train.Count);
        Assert.Equal(10_000, data.Test.Count);
        Assert.All(data.Train.CountPerClass(10), n => Assert.Equal(5_000, n));
        Assert.All(data.Test.CountPerClass(10), n => Assert.Equal(1_000, n));
    }

    [Fact]
    public void Should_hold_real_photographs_not_blank_images()
    {
        var data = SharedData.Cifar10;
        double mean = data.Test.Pixels.Average(b => (double)b);
        Assert.InRange(mean, 100, 140); // CIFAR-10's pixel mean is about 121
        var first = data.Test.Image(0);
        Assert.True(first.ToArray().Distinct().Count() > 50, "the first test image should have many distinct values");
    }
}
