using System.Numerics.Tensors;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>The mean of every channel over all pixels: (H, W, C) to (C).</summary>
public sealed class GlobalAveragePooling2D(string? name = null) : Layer(name)
{
    public static Layer FromConfig(LayerConfig c)
    {
        c.Only("data_format", "channels_last", "only channels_last");
        c.Only("keepdims", false, "only false");
        return new GlobalAveragePooling2D(c.Name);
    }

    int Pixels => InputShape[0] * InputShape[1];
    int Channels => InputShape[2];

    protected override int[] ComputeOutputShape(int[] inputShape) => inputShape.Length == 3
        ? [inputShape[2]]
        : throw ShapeError(inputShape, "GlobalAveragePooling2D expects images of rank 3 (height, width, channels).");

    internal override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        float scale = 1f / Pixels;
        for (int n = 0; n < batch; n++)
        {
            var y = output.Slice(n * Channels, Channels);
            var x = input.Slice(n * InputSize, InputSize);
            x[..Channels].CopyTo(y);
            for (int p = 1; p < Pixels; p++) TensorPrimitives.Add(y, x.Slice(p * Channels, Channels), y);
            TensorPrimitives.Multiply(y, scale, y);
        }
    }

    internal override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (inputGradient.IsEmpty) return;
        float scale = 1f / Pixels;
        for (int n = 0; n < batch; n++)
        {
            var share = inputGradient.Slice(n * InputSize, Channels);
            TensorPrimitives.Multiply(outputGradient.Slice(n * Channels, Channels), scale, share);
            for (int p = 1; p < Pixels; p++) share.CopyTo(inputGradient.Slice(n * InputSize + p * Channels, Channels));
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["data_format"] = "channels_last";
        config["keepdims"] = false;
        return config;
    }
}
