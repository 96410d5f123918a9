using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras.Tests;

public class WinogradTests
{
    [Theory]
    [InlineData(15, 15, 32, 64, "relu")]   // the study's second convolution (odd output size: partial tiles)
    [InlineData(6, 9, 8, 16, "linear")]
    public void Should_give_the_direct_convolutions_outputs(int height, int width, int channels, int filters, string activation)
    {
        var layer = new Conv2D(filters, (3, 3), activation: activation);
        var random = new Random(5);
        layer.Build([height, width, channels], random);
        for (int i = 0; i < layer.Bias!.Size; i++) layer.Bias.Value[i] = (float)(random.NextDouble() - 0.5);
        layer.OnWeightsChanged();
        const int batch = 3;
        var input = Enumerable.Range(0, batch * layer.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var scratch = new float[layer.ScratchSize(batch)];

        var winograd = new float[batch * layer.OutputSize];
        layer.Call(input, winograd, batch, CallContext.Inference, scratch);
        layer.AllowWinograd = false;
        var direct = new float[batch * layer.OutputSize];
        layer.Call(input, direct, batch, CallContext.Inference, scratch);

        double scale = direct.Max(Math.Abs);
        for (int i = 0; i < direct.Length; i++)
            Assert.True(Math.Abs(direct[i] - winograd[i]) <= 1e-5 * scale, $"output {i}: direct {direct[i]}, winograd {winograd[i]}");
        Assert.Contains(winograd, v => v != 0);
    }

    [Theory]
    [InlineData(32, 32, 3, 32)]   // the study's first convolution
    [InlineData(9, 7, 5, 16)]
    public void Should_give_the_same_outputs_read_straight_from_the_image_as_through_im2col(int height, int width, int channels, int filters)
    {
        var layer = new Conv2D(filters, (3, 3), activation: "relu");
        var random = new Random(6);
        layer.Build([height, width, channels], random);
        for (int i = 0; i < layer.Bias!.Size; i++) layer.Bias.Value[i] = (float)(random.NextDouble() - 0.5);
        layer.OnWeightsChanged();
        layer.AllowWinograd = false;
        const int batch = 2;
        var input = Enumerable.Range(0, batch * layer.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var scratch = new float[layer.ScratchSize(batch)];
        var direct = new float[batch * layer.OutputSize];
        layer.Call(input, direct, batch, CallContext.Inference, scratch);
        layer.AllowDirect = false;
        var im2col = new float[batch * layer.OutputSize];
        layer.Call(input, im2col, batch, CallContext.Inference, scratch);
        for (int i = 0; i < direct.Length; i++) Assert.True(Math.Abs(direct[i] - im2col[i]) < 1e-5, $"output {i}: {direct[i]} vs {im2col[i]}");
        Assert.Contains(direct, v => v > 0);
    }
}
