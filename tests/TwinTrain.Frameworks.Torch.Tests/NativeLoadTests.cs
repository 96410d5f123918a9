using static TorchSharp.torch;

namespace TwinTrain.Frameworks.Torch.Tests;

public class NativeLoadTests
{
    [Fact]
    public void Should_load_libtorch_and_run_a_convolution()
    {
        using var input = ones(1, 3, 32, 32);
        using var conv = TorchSharp.torch.nn.Conv2d(3, 32, 3);
        using var output = conv.forward(input);
        Assert.Equal(new long[] { 1, 32, 30, 30 }, output.shape);
    }
}
