using System.Numerics.Tensors;
using TwinTrain.Keras.Engine;

namespace TwinTrain.Keras.Layers;

/// <summary>
/// 2-D convolution over channels-last input (H, W, C) with a kernel of shape (kh, kw, in, out), then bias and
/// activation. Computed per image as im2col followed by one matrix product with the kernel.
/// </summary>
public sealed class Conv2D : Layer
{
    readonly bool _same;
    ConvGeometry _geometry;
    AlignedBuffer _kernelTransposed = new(0);
    float[] _kernelWithBias = [];
    AlignedBuffer _kernelWinograd = new(0);
    bool _winograd;

    /// <summary>Lets tests compare the Winograd forward pass with the direct one on the same layer.</summary>
    internal bool AllowWinograd { get; set; } = true;

    /// <summary>Lets tests compare the forward pass read straight from the image with the im2col one.</summary>
    internal bool AllowDirect { get; set; } = true;

    bool DirectApplies => Gemm.UseSimd && Filters % 16 == 0 && _geometry.IsValidStrideOne;

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
    Variable[] _weights = [];
    public override IReadOnlyList<Variable> Weights => _weights;

    protected override int[] ComputeOutputShape(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw ShapeError(inputShape, "Conv2D expects images of rank 3 (height, width, channels).");
        var rows = Layers.Padding.Along(inputShape[0], KernelSize.Height, Strides.Height, _same);
        var columns = Layers.Padding.Along(inputShape[1], KernelSize.Width, Strides.Width, _same);
        if (rows.Output < 1 || columns.Output < 1)
            throw ShapeError(inputShape, $"the {KernelSize.Height}x{KernelSize.Width} kernel is larger than the image.");
        _geometry = new ConvGeometry(inputShape[0], inputShape[1], inputShape[2], KernelSize.Height, KernelSize.Width,
            Strides.Height, Strides.Width, rows.Before, columns.Before, rows.Output, columns.Output);
        return [rows.Output, columns.Output, Filters];
    }

    protected override void CreateWeights(Random random)
    {
        int channels = InputShape[2], area = KernelSize.Height * KernelSize.Width;
        Kernel = new Variable("kernel", [KernelSize.Height, KernelSize.Width, channels, Filters]);
        Bias = new Variable("bias", [Filters]);
        _weights = [Kernel, Bias];
        Initializers.GlorotUniform(Kernel.Value, area * channels, area * Filters, random);
        _kernelTransposed = new AlignedBuffer(Kernel.Size);
        _kernelWithBias = new float[Kernel.Size + Filters];
        _winograd = Winograd.Applies(_geometry, Filters);
        if (_winograd) _kernelWinograd = new AlignedBuffer(16 * channels * Filters);
        OnWeightsChanged();
    }

    /// <summary>
    /// Keeps two derived copies: the kernel with the bias as one more row (im2col rows end in a 1, so one product
    /// adds the bias, and the same product's last row gives the bias gradient), and kernelᵀ for the input gradient.
    /// </summary>
    public override unsafe void OnWeightsChanged()
    {
        Kernel.Value.CopyTo(_kernelWithBias, 0);
        Bias.Value.CopyTo(_kernelWithBias, Kernel.Size);
        Transpose.Matrix(Kernel.Value, _geometry.WindowSize, Filters, _kernelTransposed.Span);
        if (_winograd)
        {
            fixed (float* k = Kernel.Value, u = _kernelWinograd.Span) Winograd.TransformKernel(k, _geometry.Channels, Filters, u);
        }
    }

    int Row => _geometry.WindowSize + 1;

    /// <summary>
    /// Backward: the kernel-with-bias gradient twice (as (window+1) x filters from dense products, and transposed from
    /// sparse ones), each output pixel's window offset, then either one image's im2col rows (with the 1 column), their
    /// gradient and the output gradient transposed, or the lists of the output gradient's non-zeros; 8 floats of room
    /// after each. Forward: the Winograd tiles.
    /// </summary>
    public override int ScratchSize(int batch) => Math.Max(
        AccumulatorsSize + AlignedBuffer.Lines(_geometry.OutPixels) + Math.Max(
            _geometry.OutPixels * Row + 8 + _geometry.OutPixels * _geometry.WindowSize + 8 + Filters * _geometry.OutPixels + 8,
            GradientLists.Floats(_geometry.OutPixels, Filters)),
        _winograd ? 16 * Winograd.Tiles(_geometry) * (_geometry.Channels + Filters) : 0);

    /// <summary>The two gradient accumulators; the sparse one's rows start on cache lines.</summary>
    int AccumulatorsSize => AlignedBuffer.Lines(Row * Filters) + SparseRowStride * Filters;
    int SparseRowStride => AlignedBuffer.Lines(Row);

    /// <summary>Backward reads windows straight from the image when the gradient is sparse and rows are whole vectors.</summary>
    bool SparseDirectApplies => _geometry.IsValidStrideOne && _geometry.KernelWidth * _geometry.Channels % 8 == 0;

    public override unsafe void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        var g = _geometry;
        bool fusedRelu = Activation == Activation.Relu && !DeferActivation;
        if (_winograd && AllowWinograd && Gemm.UseSimd)
        {
            CallWinograd(input, output, batch, fusedRelu, scratch);
        }
        else if (DirectApplies && AllowDirect)
        {
            // Valid, stride 1: each output row is a product straight from the image's rows (no im2col copy).
            fixed (float* x = input, y = output, w = Kernel.Value, bias = Bias.Value)
            {
                int rowFloats = g.KernelWidth * g.Channels;
                for (int n = 0; n < batch; n++)
                {
                    float* image = x + (long)n * InputSize, result = y + (long)n * OutputSize;
                    for (int oy = 0; oy < g.OutHeight; oy++)
                    {
                        Gemm.MultiplySegments(g.OutWidth, Filters, rowFloats, g.KernelHeight, image + oy * g.Width * g.Channels, g.Channels,
                            g.Width * g.Channels, w, Filters, bias, result + oy * g.OutWidth * Filters, Filters, fusedRelu);
                    }
                }
            }
        }
        else
        {
            fixed (float* x = input, y = output, w = _kernelWithBias, cols = scratch)
            {
                for (int n = 0; n < batch; n++)
                {
                    Im2Col.Gather(g, x + (long)n * InputSize, cols, extraOnes: 1);
                    Gemm.Multiply(g.OutPixels, Filters, Row, cols, Row, 1, w, Filters, y + (long)n * OutputSize, Filters, accumulate: false, relu: fusedRelu);
                }
            }
        }
        if (!fusedRelu && !DeferActivation) Activations.Forward(Activation, output[..(batch * OutputSize)], Filters);
    }

    /// <summary>Per image: transform the input tiles, 16 products with the transformed kernel, transform back.</summary>
    unsafe void CallWinograd(ReadOnlySpan<float> input, Span<float> output, int batch, bool relu, Span<float> scratch)
    {
        var g = _geometry;
        int tiles = Winograd.Tiles(g), channels = g.Channels;
        fixed (float* x = input, y = output, u = _kernelWinograd.Span, bias = Bias.Value, v = scratch)
        {
            float* m = v + 16 * tiles * channels;
            for (int n = 0; n < batch; n++)
            {
                Winograd.TransformInput(g, x + (long)n * InputSize, v);
                for (int e = 0; e < 16; e++)
                {
                    Gemm.Multiply(tiles, Filters, channels, v + e * tiles * channels, channels, 1, u + e * channels * Filters, Filters,
                        m + e * tiles * Filters, Filters, accumulate: false);
                }
                Winograd.TransformOutput(g, Filters, m, bias, relu, y + (long)n * OutputSize);
            }
        }
    }

    public override unsafe void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        var g = _geometry;
        var gradient = outputGradient[..(batch * OutputSize)];
        if (!preActivation) Activations.Backward(Activation, output, gradient, Filters);

        int ld = SparseRowStride;
        var denseGradient = scratch[..(Row * Filters)];
        var sparseGradient = scratch.Slice(AlignedBuffer.Lines(Row * Filters), ld * Filters);
        denseGradient.Clear();
        sparseGradient.Clear();
        int colsSize = g.OutPixels * Row + 8;
        int colsGradientSize = g.OutPixels * g.WindowSize + 8;
        bool direct = SparseDirectApplies && AllowDirect;
        fixed (float* x = input, dy = gradient, dwb = denseGradient, dwbT = sparseGradient, wt = _kernelTransposed.Span, dx = inputGradient, work = scratch)
        {
            int* windowOffsets = (int*)(work + AccumulatorsSize);
            float* cols = work + AccumulatorsSize + AlignedBuffer.Lines(g.OutPixels);
            float* colsGradient = cols + colsSize;
            float* dyT = colsGradient + colsGradientSize;
            var lists = new GradientLists(cols, g.OutPixels, Filters);
            if (direct) SparseConvolution.WindowOffsets(g, windowOffsets);
            for (int n = 0; n < batch; n++)
            {
                float* dyImage = dy + (long)n * OutputSize;
                float* image = x + (long)n * InputSize;
                float* dxImage = dx + (long)n * InputSize;
                // Behind max pooling most of dy is zero; the sparse products skip the zeros.
                if (direct && SparseConvolution.List(dyImage, g.OutPixels, Filters, g.WindowSize, windowOffsets, lists) < SparseGemm.DensityLimit * OutputSize)
                {
                    SparseConvolution.AddWeightGradient(g, Filters, lists, image, dwbT, ld);
                    if (!inputGradient.IsEmpty) SparseConvolution.InputGradient(g, lists, Filters, windowOffsets, wt, dxImage);
                    continue;
                }
                Im2Col.Gather(g, image, cols, extraOnes: 1);
                // Narrow rows gain nothing from a sparse weight gradient; without an input gradient, nothing else is sparse.
                bool sparse = (Row >= SparseGemm.RowBlock || !inputGradient.IsEmpty)
                    && SparseGemm.Density(dyImage, g.OutPixels, Filters, Filters) < SparseGemm.DensityLimit;
                if (sparse && Row >= SparseGemm.RowBlock)
                {
                    // [dW; db]ᵀ (filters x (window + 1)) += dyᵀ · cols, skipping dy's zeros
                    Transpose.Matrix(new ReadOnlySpan<float>(dyImage, OutputSize), g.OutPixels, Filters, new Span<float>(dyT, OutputSize));
                    SparseGemm.Multiply(Filters, Row, g.OutPixels, dyT, g.OutPixels, cols, Row, dwbT, ld, accumulate: true);
                }
                else
                {
                    // [dW; db] ((window + 1) x filters) += colsᵀ · dy
                    Gemm.Multiply(Row, Filters, g.OutPixels, cols, 1, Row, dyImage, Filters, dwb, Filters, accumulate: true);
                }
                if (inputGradient.IsEmpty) continue;
                // d(cols) = dy · Wᵀ, then each row added back onto the pixels it was gathered from
                if (sparse)
                    SparseGemm.Multiply(g.OutPixels, g.WindowSize, Filters, dyImage, Filters, wt, g.WindowSize, colsGradient, g.WindowSize);
                else
                    Gemm.Multiply(g.OutPixels, g.WindowSize, Filters, dyImage, Filters, 1, wt, g.WindowSize, colsGradient, g.WindowSize, accumulate: false);
                new Span<float>(dxImage, InputSize).Clear();
                Im2Col.ScatterAdd(g, colsGradient, dxImage);
            }
        }
        // Both accumulators into the kernel and bias gradients: dense rows are (window + 1) x filters, sparse transposed.
        float[] kernelGradient = weightGradients[0], biasGradient = weightGradients[1];
        for (int r = 0; r < Row; r++)
        {
            for (int f = 0; f < Filters; f++)
            {
                float value = denseGradient[r * Filters + f] + sparseGradient[f * ld + r];
                if (r < g.WindowSize) kernelGradient[r * Filters + f] += value;
                else biasGradient[f] += value;
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
