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

    public override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        for (int n = 0; n < batch; n++)
            Pool(input.Slice(n * InputSize, InputSize), output.Slice(n * OutputSize, OutputSize), Span<float>.Empty, ReadOnlySpan<float>.Empty);
    }

    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch)
    {
        if (inputGradient.IsEmpty) return;
        inputGradient[..(batch * InputSize)].Clear();
        for (int n = 0; n < batch; n++)
        {
            Pool(input.Slice(n * InputSize, InputSize), Span<float>.Empty, inputGradient.Slice(n * InputSize, InputSize),
                outputGradient.Slice(n * OutputSize, OutputSize));
        }
    }

    /// <summary>Finds each window's (first) maximum: writes it to y, and/or routes that output's gradient dy to it in dx.</summary>
    void Pool(ReadOnlySpan<float> x, Span<float> y, Span<float> dx, ReadOnlySpan<float> dy)
    {
        int width = InputShape[1], channels = InputShape[2];
        int outHeight = OutputShape[0], outWidth = OutputShape[1];
        for (int oy = 0; oy < outHeight; oy++)
        for (int ox = 0; ox < outWidth; ox++)
        for (int c = 0; c < channels; c++)
        {
            float best = float.NegativeInfinity;
            int bestAt = -1;
            for (int py = 0; py < PoolSize.Height; py++)
            for (int px = 0; px < PoolSize.Width; px++)
            {
                int at = ((oy * Strides.Height + py) * width + ox * Strides.Width + px) * channels + c;
                if (x[at] > best) { best = x[at]; bestAt = at; }
            }
            int o = (oy * outWidth + ox) * channels + c;
            if (!y.IsEmpty) y[o] = best;
            if (!dx.IsEmpty) dx[bestAt] += dy[o];
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
