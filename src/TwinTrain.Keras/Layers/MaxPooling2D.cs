using System.Runtime.Intrinsics;
using TwinTrain.Keras.Engine;

namespace TwinTrain.Keras.Layers;

/// <summary>Max pooling over channels-last images; strides default to the pool size, padding "valid".</summary>
public sealed class MaxPooling2D : Layer
{
    public MaxPooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides = null, string? name = null) : base(name)
    {
        PoolSize = poolSize;
        Strides = strides ?? poolSize;
    }

    public (int Height, int Width) PoolSize { get; }
    public (int Height, int Width) Strides { get; }

    protected override int[] ComputeOutputShape(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw ShapeError(inputShape, "MaxPooling2D expects images of rank 3 (height, width, channels).");
        int rows = (inputShape[0] - PoolSize.Height) / Strides.Height + 1;
        int columns = (inputShape[1] - PoolSize.Width) / Strides.Width + 1;
        if (rows < 1 || columns < 1) throw ShapeError(inputShape, "the pool is larger than the image.");
        return [rows, columns, inputShape[2]];
    }

    public override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        for (int n = 0; n < batch; n++)
            Pool(input.Slice(n * InputSize, InputSize), output.Slice(n * OutputSize, OutputSize), [], []);
    }

    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (inputGradient.IsEmpty) return;
        inputGradient[..(batch * InputSize)].Clear();
        for (int n = 0; n < batch; n++)
        {
            Pool(input.Slice(n * InputSize, InputSize), [], inputGradient.Slice(n * InputSize, InputSize),
                outputGradient.Slice(n * OutputSize, OutputSize));
        }
    }

    /// <summary>
    /// Finds each window's maximum per channel: writes it to y (forward), or adds the output's gradient dy to the
    /// first element holding the maximum in dx (backward). Eight channels at a time where the channels allow.
    /// </summary>
    void Pool(ReadOnlySpan<float> x, Span<float> y, Span<float> dx, ReadOnlySpan<float> dy)
    {
        int width = InputShape[1], channels = InputShape[2];
        int outHeight = OutputShape[0], outWidth = OutputShape[1];
        bool vector = Gemm.UseSimd && Vector256.IsHardwareAccelerated;
        for (int oy = 0; oy < outHeight; oy++)
        for (int ox = 0; ox < outWidth; ox++)
        {
            int o = (oy * outWidth + ox) * channels;
            int first = (oy * Strides.Height * width + ox * Strides.Width) * channels;
            int c = 0;
            if (vector)
            {
                for (; c + 8 <= channels; c += 8)
                {
                    var best = Vector256.Create(x.Slice(first + c, 8));
                    for (int py = 0; py < PoolSize.Height; py++)
                    for (int px = 0; px < PoolSize.Width; px++)
                        best = Vector256.Max(best, Vector256.Create(x.Slice(first + (py * width + px) * channels + c, 8)));
                    if (!y.IsEmpty) { best.CopyTo(y.Slice(o + c, 8)); continue; }

                    var gradient = Vector256.Create(dy.Slice(o + c, 8));
                    var unrouted = Vector256<float>.AllBitsSet;
                    for (int py = 0; py < PoolSize.Height; py++)
                    for (int px = 0; px < PoolSize.Width; px++)
                    {
                        var target = dx.Slice(first + (py * width + px) * channels + c, 8);
                        var hit = Vector256.Equals(Vector256.Create(x.Slice(first + (py * width + px) * channels + c, 8)), best) & unrouted;
                        unrouted &= ~hit;
                        (Vector256.Create((ReadOnlySpan<float>)target) + (gradient & hit)).CopyTo(target);
                    }
                }
            }
            for (; c < channels; c++)
            {
                float best = float.NegativeInfinity;
                int bestAt = -1;
                for (int py = 0; py < PoolSize.Height; py++)
                for (int px = 0; px < PoolSize.Width; px++)
                {
                    int at = first + (py * width + px) * channels + c;
                    if (x[at] > best || bestAt < 0) { best = x[at]; bestAt = at; }
                }
                if (!y.IsEmpty) y[o + c] = best;
                else dx[bestAt] += dy[o + c];
            }
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["pool_size"] = new[] { PoolSize.Height, PoolSize.Width };
        config["strides"] = new[] { Strides.Height, Strides.Width };
        config["padding"] = "valid";
        return config;
    }
}
