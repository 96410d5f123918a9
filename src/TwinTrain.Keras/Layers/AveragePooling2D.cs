using System.Numerics.Tensors;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>
/// Average pooling over channels-last images; strides default to the pool size. With 'same' padding a window past
/// the edge averages only what lies inside, as TensorFlow does.
/// </summary>
public sealed class AveragePooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides = null, string? name = null, string padding = "valid")
    : Pooling2D(poolSize, strides, name, padding)
{
    public static Layer FromConfig(LayerConfig c)
    {
        var (pool, strides, padding) = ReadConfig(c);
        return new AveragePooling2D(pool, strides, c.Name, padding);
    }

    internal override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        int width = InputShape[1], channels = InputShape[2];
        for (int n = 0; n < batch; n++)
        {
            var x = input.Slice(n * InputSize, InputSize);
            var y = output.Slice(n * OutputSize, OutputSize);
            y.Clear();
            for (int oy = 0; oy < OutputShape[0]; oy++)
            for (int ox = 0; ox < OutputShape[1]; ox++)
            {
                var (row, rows, column, columns) = Window(oy, ox);
                var target = y.Slice((oy * OutputShape[1] + ox) * channels, channels);
                for (int py = row; py < row + rows; py++)
                for (int px = column; px < column + columns; px++)
                    TensorPrimitives.Add(target, x.Slice((py * width + px) * channels, channels), target);
                TensorPrimitives.Multiply(target, 1f / (rows * columns), target);
            }
        }
    }

    internal override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (inputGradient.IsEmpty) return;
        int width = InputShape[1], channels = InputShape[2];
        inputGradient[..(batch * InputSize)].Clear();
        for (int n = 0; n < batch; n++)
        {
            var dx = inputGradient.Slice(n * InputSize, InputSize);
            var dy = outputGradient.Slice(n * OutputSize, OutputSize);
            for (int oy = 0; oy < OutputShape[0]; oy++)
            for (int ox = 0; ox < OutputShape[1]; ox++)
            {
                var (row, rows, column, columns) = Window(oy, ox);
                var source = dy.Slice((oy * OutputShape[1] + ox) * channels, channels);
                float scale = 1f / (rows * columns);
                for (int py = row; py < row + rows; py++)
                for (int px = column; px < column + columns; px++)
                {
                    var target = dx.Slice((py * width + px) * channels, channels);
                    TensorPrimitives.MultiplyAdd(source, scale, target, target);
                }
            }
        }
    }
}
