namespace TwinTrain.Keras.Layers;

/// <summary>Average pooling over channels-last images; strides default to the pool size, padding "valid".</summary>
public sealed class AveragePooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides = null, string? name = null)
    : Pooling2D(poolSize, strides, name)
{
    public override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        float scale = 1f / (PoolSize.Height * PoolSize.Width);
        int width = InputShape[1], channels = InputShape[2];
        for (int n = 0; n < batch; n++)
        {
            var x = input.Slice(n * InputSize, InputSize);
            var y = output.Slice(n * OutputSize, OutputSize);
            y.Clear();
            for (int oy = 0; oy < OutputShape[0]; oy++)
            for (int ox = 0; ox < OutputShape[1]; ox++)
            {
                var target = y.Slice((oy * OutputShape[1] + ox) * channels, channels);
                for (int py = 0; py < PoolSize.Height; py++)
                for (int px = 0; px < PoolSize.Width; px++)
                {
                    int at = ((oy * Strides.Height + py) * width + ox * Strides.Width + px) * channels;
                    System.Numerics.Tensors.TensorPrimitives.Add(target, x.Slice(at, channels), target);
                }
                System.Numerics.Tensors.TensorPrimitives.Multiply(target, scale, target);
            }
        }
    }

    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (inputGradient.IsEmpty) return;
        float scale = 1f / (PoolSize.Height * PoolSize.Width);
        int width = InputShape[1], channels = InputShape[2];
        inputGradient[..(batch * InputSize)].Clear();
        for (int n = 0; n < batch; n++)
        {
            var dx = inputGradient.Slice(n * InputSize, InputSize);
            var dy = outputGradient.Slice(n * OutputSize, OutputSize);
            for (int oy = 0; oy < OutputShape[0]; oy++)
            for (int ox = 0; ox < OutputShape[1]; ox++)
            {
                var source = dy.Slice((oy * OutputShape[1] + ox) * channels, channels);
                for (int py = 0; py < PoolSize.Height; py++)
                for (int px = 0; px < PoolSize.Width; px++)
                {
                    var target = dx.Slice(((oy * Strides.Height + py) * width + ox * Strides.Width + px) * channels, channels);
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(source, scale, target, target);
                }
            }
        }
    }
}
