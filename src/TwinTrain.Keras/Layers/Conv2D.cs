namespace TwinTrain.Keras.Layers;

/// <summary>
/// 2-D convolution over channels-last input (H, W, C) with a kernel of shape (kh, kw, in, out), then bias and activation.
/// </summary>
public sealed class Conv2D : Layer
{
    readonly bool _same;

    public Conv2D(int filters, (int Height, int Width) kernelSize, (int Height, int Width)? strides = null,
        string padding = "valid", string? activation = null, (int Height, int Width, int Channels)? inputShape = null,
        string? name = null) : base(name)
    {
        if (filters < 1) throw new ArgumentOutOfRangeException(nameof(filters), "Conv2D needs at least one filter.");
        Filters = filters;
        KernelSize = kernelSize;
        Strides = strides ?? (1, 1);
        Padding = padding;
        _same = Layers.Padding.IsSame(padding);
        Activation = Activations.Parse(activation);
        DeclaredInputShape = inputShape is { } s ? [s.Height, s.Width, s.Channels] : null;
    }

    public int Filters { get; }
    public (int Height, int Width) KernelSize { get; }
    public (int Height, int Width) Strides { get; }
    public string Padding { get; }
    public Activation Activation { get; }
    public int[]? DeclaredInputShape { get; }
    public Variable Kernel { get; private set; } = null!;
    public Variable Bias { get; private set; } = null!;
    public override IReadOnlyList<Variable> Weights => [Kernel, Bias];

    (int Output, int Before) Rows => Layers.Padding.Along(InputShape[0], KernelSize.Height, Strides.Height, _same);
    (int Output, int Before) Columns => Layers.Padding.Along(InputShape[1], KernelSize.Width, Strides.Width, _same);

    protected override int[] ComputeOutputShape(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw ShapeError(inputShape, "Conv2D expects images of rank 3 (height, width, channels).");
        var rows = Layers.Padding.Along(inputShape[0], KernelSize.Height, Strides.Height, _same);
        var columns = Layers.Padding.Along(inputShape[1], KernelSize.Width, Strides.Width, _same);
        if (rows.Output < 1 || columns.Output < 1)
            throw ShapeError(inputShape, $"the {KernelSize.Height}x{KernelSize.Width} kernel is larger than the image.");
        return [rows.Output, columns.Output, Filters];
    }

    protected override void CreateWeights(Random random)
    {
        int channels = InputShape[2], area = KernelSize.Height * KernelSize.Width;
        Kernel = new Variable("kernel", [KernelSize.Height, KernelSize.Width, channels, Filters]);
        Bias = new Variable("bias", [Filters]);
        Initializers.GlorotUniform(Kernel.Value, area * channels, area * Filters, random);
    }

    public override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        int height = InputShape[0], width = InputShape[1], channels = InputShape[2];
        var (outHeight, top) = Rows;
        var (outWidth, left) = Columns;
        float[] w = Kernel.Value;
        for (int n = 0; n < batch; n++)
        {
            var x = input.Slice(n * InputSize, InputSize);
            var y = output.Slice(n * OutputSize, OutputSize);
            for (int oy = 0; oy < outHeight; oy++)
            for (int ox = 0; ox < outWidth; ox++)
            {
                var pixel = y.Slice((oy * outWidth + ox) * Filters, Filters);
                Bias.Value.CopyTo(pixel);
                for (int ky = 0; ky < KernelSize.Height; ky++)
                {
                    int iy = oy * Strides.Height + ky - top;
                    if (iy < 0 || iy >= height) continue;
                    for (int kx = 0; kx < KernelSize.Width; kx++)
                    {
                        int ix = ox * Strides.Width + kx - left;
                        if (ix < 0 || ix >= width) continue;
                        var source = x.Slice((iy * width + ix) * channels, channels);
                        for (int c = 0; c < channels; c++)
                        {
                            var taps = w.AsSpan(((ky * KernelSize.Width + kx) * channels + c) * Filters, Filters);
                            float v = source[c];
                            for (int f = 0; f < Filters; f++) pixel[f] += v * taps[f];
                        }
                    }
                }
            }
        }
        Activations.Forward(Activation, output[..(batch * OutputSize)], Filters);
    }

    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch)
    {
        int height = InputShape[0], width = InputShape[1], channels = InputShape[2];
        var (outHeight, top) = Rows;
        var (outWidth, left) = Columns;
        Activations.Backward(Activation, output, outputGradient[..(batch * OutputSize)], Filters);
        float[] w = Kernel.Value, dw = Kernel.Gradient, db = Bias.Gradient;
        if (!inputGradient.IsEmpty) inputGradient[..(batch * InputSize)].Clear();
        for (int n = 0; n < batch; n++)
        {
            var x = input.Slice(n * InputSize, InputSize);
            var dx = inputGradient.IsEmpty ? Span<float>.Empty : inputGradient.Slice(n * InputSize, InputSize);
            var g = outputGradient.Slice(n * OutputSize, OutputSize);
            for (int oy = 0; oy < outHeight; oy++)
            for (int ox = 0; ox < outWidth; ox++)
            {
                var pixelGradient = g.Slice((oy * outWidth + ox) * Filters, Filters);
                for (int f = 0; f < Filters; f++) db[f] += pixelGradient[f];
                for (int ky = 0; ky < KernelSize.Height; ky++)
                {
                    int iy = oy * Strides.Height + ky - top;
                    if (iy < 0 || iy >= height) continue;
                    for (int kx = 0; kx < KernelSize.Width; kx++)
                    {
                        int ix = ox * Strides.Width + kx - left;
                        if (ix < 0 || ix >= width) continue;
                        int at = (iy * width + ix) * channels;
                        for (int c = 0; c < channels; c++)
                        {
                            int tap = ((ky * KernelSize.Width + kx) * channels + c) * Filters;
                            float v = x[at + c], sum = 0f;
                            for (int f = 0; f < Filters; f++)
                            {
                                dw[tap + f] += v * pixelGradient[f];
                                sum += w[tap + f] * pixelGradient[f];
                            }
                            if (!dx.IsEmpty) dx[at + c] += sum;
                        }
                    }
                }
            }
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["filters"] = Filters;
        config["kernel_size"] = new[] { KernelSize.Height, KernelSize.Width };
        config["strides"] = new[] { Strides.Height, Strides.Width };
        config["padding"] = Padding;
        config["activation"] = Activations.Name(Activation);
        return config;
    }
}
