using TwinTrain.Experiment.Models;

namespace TwinTrain.Experiment.Tests;

public class ImageInputTests
{
    [Fact]
    public void Should_average_each_block_when_shrinking()
    {
        // 4x2 image: left 2x2 block red 100/200 alternating, right block constant.
        byte[] rgb =
        [
            100, 0, 0, 200, 0, 0, 10, 20, 30, 10, 20, 30,
            200, 0, 0, 100, 0, 0, 10, 20, 30, 10, 20, 30,
        ];
        Assert.Equal(new byte[] { 150, 0, 0, 10, 20, 30 }, ImageInput.Resize(rgb, 4, 2, 2, 1));
    }

    [Fact]
    public void Should_keep_a_uniform_image_uniform_at_any_scale()
    {
        var rgb = Enumerable.Repeat(new byte[] { 12, 34, 56 }, 7 * 5).SelectMany(p => p).ToArray();
        foreach (var (w, h) in new[] { (32, 32), (3, 2), (50, 40) })
            Assert.All(ImageInput.Resize(rgb, 7, 5, w, h).Chunk(3), p => Assert.Equal(new byte[] { 12, 34, 56 }, p));
    }
}
