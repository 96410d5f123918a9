using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>
/// 2-D convolution over channels-last input (H, W, C) with a kernel of shape (kh, kw, in, out), then bias and
/// activation. Stride-1 convolutions take the fast paths (Winograd or products straight from the image rows forward;
/// backward, sparse products where the gradient is mostly zeros, behind max pooling, and Winograd's for both
/// gradients of a 3x3 where it is dense, behind BatchNormalization); with 'same' padding they run them on a
/// zero-padded copy of each image. Others go through im2col and one matrix product with the kernel.
/// </summary>
public sealed class Conv2D : Layer
{
    readonly bool _same;
    /// <summary>The convolution as configured, and the valid stride-1 one the fast paths run (on the padded image when padded).</summary>
    ConvGeometry _geometry, _fast;
    bool _padded;
    float[] _zeroBias = [], _zeroChannels = [];
    AlignedBuffer _kernelTransposed = new(0);
    float[] _kernelWithBias = [];
    AlignedBuffer _kernelWinograd = new(0);
    bool _winograd;
    /// <summary>Winograd's algorithm for the forward pass and the weight gradient (<see cref="WinogradVariant.For"/>).</summary>
    WinogradVariant _variant = WinogradVariant.F2;
    /// <summary>
    /// The input gradient's is always F(2x2, 3x3): F(4x4, 3x3) rounds it beyond what the layer diff accepts as float32
    /// rounding (1.66e-6 against a bound of 1.42e-6 on cifar-bn's second convolution).
    /// </summary>
    internal static WinogradVariant InputGradientVariant => WinogradVariant.F2;
    /// <summary>
    /// The input gradient of a stride-1 3x3 convolution is a convolution of the padded output gradient with the kernel
    /// flipped and its channels swapped: with a dense gradient (behind BatchNormalization) it takes Winograd's path too.
    /// </summary>
    ConvGeometry _transposed;
    bool _winogradTransposed;
    float[] _kernelFlipped = [];
    AlignedBuffer _kernelFlippedWinograd = new(0);

    /// <summary>
    /// Images whose Winograd tiles one product takes at once, forward and for both dense gradients: enough for about
    /// <see cref="GroupRows"/> rows. One image gives a product only as many rows as it has tiles (16 on cifar-bn's
    /// convolutions), and each product streams its plane of the transformed kernel (the planes together up to 1.2 MB,
    /// beyond L2) for them. The rows are independent and a weight gradient's sum runs over the group's tiles in the
    /// order image after image would, so the results are the same bits whatever the group.
    /// </summary>
    internal int WinogradGroup => GroupFor(_variant.Tiles(_fast));

    /// <summary>The input gradient's group (on <see cref="InputGradientVariant"/>'s tiles of the transposed convolution).</summary>
    internal int InputGradientGroup => GroupFor(InputGradientVariant.Tiles(_transposed));

    /// <summary>The weight gradient's group: only a gradient marked dense (<see cref="DenseGradient"/>) is taken a group at a time.</summary>
    internal int WeightGradientGroup => DenseGradient ? WinogradGroup : 1;

    /// <summary>Lets tests compare grouped Winograd products with one image's at a time on the same layer.</summary>
    internal bool AllowGroups { get; set; } = true;

    /// <summary>The group a pass over <paramref name="batch"/> images takes (the scratch holds the full one).</summary>
    int Group(int full, int batch) => AllowGroups ? Math.Min(full, batch) : 1;

    const int GroupRows = 64, MaxGroup = 16;

    static int GroupFor(int tiles) => Math.Clamp((GroupRows + tiles - 1) / tiles, 1, MaxGroup);

    /// <summary>Lets tests compare the Winograd forward pass with the direct one on the same layer.</summary>
    internal bool AllowWinograd { get; set; } = true;

    /// <summary>
    /// Lets tests compare the passes read straight from the (padded) image with the im2col ones, and the im2col rows
    /// gathered from the padded copy with those gathered edge by edge.
    /// </summary>
    internal bool AllowDirect { get; set; } = true;

    /// <summary>Lets tests compare the sparse backward pass with the dense one on the same gradient.</summary>
    internal bool AllowSparse { get; set; } = true;

    /// <summary>
    /// Set by the executor when no max pooling follows: the output gradient is then dense (behind BatchNormalization,
    /// global pooling or a dense layer), and the backward pass takes the dense products without first counting its
    /// zeros, a pass over the whole gradient for nothing (on cifar-bn's first convolution, 4 MB a worker a step).
    /// </summary>
    internal bool DenseGradient { get; set; }

    bool DirectApplies => Gemm.UseSimd && Filters % 16 == 0 && _fast.IsValidStrideOne;

    /// <summary>For the engine's kernel benchmark: the convolution as configured and the paths its passes take.</summary>
    internal ConvGeometry Geometry => _geometry;
    internal ConvGeometry FastGeometry => _fast;
    internal bool ForwardWinograd => _winograd;
    internal WinogradVariant Variant => _variant;
    internal bool ForwardFromRows => DirectApplies;
    internal bool SparseBackwardFromImage => SparseDirectApplies;
    internal ConvGeometry? WinogradInputGradient => _winogradTransposed ? _transposed : null;

    public Conv2D(int filters, (int Height, int Width) kernelSize, (int Height, int Width)? strides = null,
        string padding = "valid", string? activation = null, (int Height, int Width, int Channels)? inputShape = null,
        string? name = null, bool useBias = true) : base(name)
    {
        if (filters < 1) throw new ArgumentOutOfRangeException(nameof(filters), "Conv2D needs at least one filter.");
        if (kernelSize.Height < 1 || kernelSize.Width < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), "The kernel must be at least 1x1.");
        Filters = filters;
        KernelSize = kernelSize;
        Strides = strides ?? (1, 1);
        if (Strides.Height < 1 || Strides.Width < 1) throw new ArgumentOutOfRangeException(nameof(strides), "Strides must be at least 1.");
        Padding = padding.ToLowerInvariant();
        _same = Layers.Padding.IsSame(padding);
        Activation = Activations.Parse(activation);
        UseBias = useBias;
        DeclaredInputShape = inputShape is { } s ? [s.Height, s.Width, s.Channels] : null;
    }

    /// <summary>Keras's Conv2D arguments; what this engine does not implement is refused, naming the option.</summary>
    public static Layer FromConfig(LayerConfig c)
    {
        int filters = c.Int("filters");
        var kernel = c.Pair("kernel_size");
        var strides = c.Pair("strides", (1, 1));
        string padding = c.String("padding", "valid", "valid", "same");
        c.Only("data_format", "channels_last", "only channels_last");
        c.Only("dilation_rate", new JsonArray(1, 1), "only 1");
        c.Only("groups", 1, "only 1");
        string activation = c.Activation("activation", "linear", "relu", "softmax");
        bool useBias = c.Bool("use_bias", true);
        c.Initializer("kernel_initializer", "GlorotUniform");
        c.Initializer("bias_initializer", "Zeros");
        foreach (string key in new[] { "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint", "lora_rank", "lora_alpha" })
            c.Absent(key, "regularizers, constraints and LoRA are not implemented");
        return new Conv2D(filters, kernel, strides, padding, activation, name: c.Name, useBias: useBias);
    }

    public int Filters { get; }
    public bool UseBias { get; }
    public (int Height, int Width) KernelSize { get; }
    public (int Height, int Width) Strides { get; }
    public string Padding { get; }
    public Activation Activation { get; }
    internal override bool CanFuseRelu => Activation == Activation.Linear;
    internal override bool EndsInRelu => Activation == Activation.Relu || FuseRelu;
    Activation EffectiveActivation => FuseRelu ? Activation.Relu : Activation;
    public int[]? DeclaredInputShape { get; }
    public Variable Kernel { get; private set; } = null!;
    /// <summary>The bias; without use_bias a zero vector that is not a weight.</summary>
    public Variable? Bias { get; private set; }
    float[] BiasValues => Bias?.Value ?? _zeroBias;
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
        _fast = _geometry;
        _padded = false;
        if (_same && Strides == (1, 1) && !_geometry.IsValidStrideOne)
        {
            // 'Same' at stride 1 is a valid convolution of the image with (kernel - 1) zeros around it (the odd one after).
            _fast = new ConvGeometry(inputShape[0] + KernelSize.Height - 1, inputShape[1] + KernelSize.Width - 1, inputShape[2],
                KernelSize.Height, KernelSize.Width, 1, 1, 0, 0, rows.Output, columns.Output);
            _padded = true;
        }
        return [rows.Output, columns.Output, Filters];
    }

    protected override void CreateWeights(Random random)
    {
        int channels = InputShape[2], area = KernelSize.Height * KernelSize.Width;
        Kernel = new Variable("kernel", [KernelSize.Height, KernelSize.Width, channels, Filters]);
        Bias = UseBias ? new Variable("bias", [Filters]) : null;
        _zeroBias = new float[Filters];
        _zeroChannels = new float[channels];
        _weights = Bias is null ? [Kernel] : [Kernel, Bias];
        Initializers.GlorotUniform(Kernel.Value, area * channels, area * Filters, random);
        _kernelTransposed = new AlignedBuffer(Kernel.Size);
        _kernelWithBias = new float[Kernel.Size + Filters];
        _winograd = Winograd.Applies(_fast, Filters);
        _variant = WinogradVariant.For(_fast);
        if (_winograd) _kernelWinograd = new AlignedBuffer(_variant.Elements * channels * Filters);
        if (_fast.IsValidStrideOne)
        {
            // dx is the valid correlation of dy, padded by kernel − 1 − padding on each side, giving the input's size.
            var g = _geometry;
            _transposed = new ConvGeometry(g.Height + g.KernelHeight - 1, g.Width + g.KernelWidth - 1, Filters,
                g.KernelHeight, g.KernelWidth, 1, 1, 0, 0, g.Height, g.Width);
            _winogradTransposed = Winograd.Applies(_transposed, channels) && channels % 16 == 0;
            if (_winogradTransposed)
            {
                _kernelFlipped = new float[Kernel.Size];
                _kernelFlippedWinograd = new AlignedBuffer(InputGradientVariant.Elements * channels * Filters);
            }
        }
        OnWeightsChanged();
    }

    /// <summary>
    /// Keeps two derived copies: the kernel with the bias as one more row (im2col rows end in a 1, so one product
    /// adds the bias, and the same product's last row gives the bias gradient), and kernelᵀ for the input gradient.
    /// </summary>
    internal override unsafe void OnWeightsChanged()
    {
        Kernel.Value.CopyTo(_kernelWithBias, 0);
        BiasValues.CopyTo(_kernelWithBias, Kernel.Size);
        Transpose.Matrix(Kernel.Value, _geometry.WindowSize, Filters, _kernelTransposed.Span);
        if (_winograd)
        {
            fixed (float* k = Kernel.Value, u = _kernelWinograd.Span) _variant.TransformKernel(k, _geometry.Channels, Filters, u);
        }
        if (_winogradTransposed)
        {
            // Tap (y, x) of the flipped kernel is tap (kh-1-y, kw-1-x) of the kernel, its (channels x filters) transposed.
            int kh = KernelSize.Height, kw = KernelSize.Width, plane = _geometry.Channels * Filters;
            for (int y = 0; y < kh; y++)
                for (int x = 0; x < kw; x++)
                    Transpose.Matrix(Kernel.Value.AsSpan(((kh - 1 - y) * kw + kw - 1 - x) * plane, plane), _geometry.Channels, Filters,
                        _kernelFlipped.AsSpan((y * kw + x) * plane, plane));
            fixed (float* k = _kernelFlipped, u = _kernelFlippedWinograd.Span) InputGradientVariant.TransformKernel(k, Filters, _geometry.Channels, u);
        }
    }

    int Row => _geometry.WindowSize + 1;

    /// <summary>
    /// First the padded copies (of the image, and of its gradient for the sparse backward pass) when padded. Then,
    /// backward: the kernel-with-bias gradient twice or three times (as (window+1) x filters from dense products,
    /// transposed from sparse ones, and as Winograd's planes), each output pixel's window offset, then either one
    /// image's im2col rows (with the 1 column) or a group's Winograd tiles and those of dy, after them the rows'
    /// gradient and the lists of the output gradient's non-zeros (or the Winograd input gradient's work, for a group),
    /// or, straight from the image, only the lists; 8 floats of room after each. Forward: a group's Winograd tiles.
    /// </summary>
    internal override int ScratchSize(int batch) => 2 * PadFloats + Math.Max(
        AccumulatorsSize + AlignedBuffer.Lines(_geometry.OutPixels) + Math.Max(
            RowsRegionFloats(batch) + Math.Max(ColsGradientFloats + ListFloats, TransposedFloats(batch)),
            ListFloats),
        WinogradTilesFloats(batch));

    /// <summary>The backward pass's first region: one image's im2col rows, or a group's Winograd tiles and those of dy.</summary>
    int RowsRegionFloats(int batch) => Math.Max(ColsFloats, WinogradTilesFloats(batch));

    /// <summary>A group's Winograd tiles and their products (forward), or its tiles and those of dy (weight gradient).</summary>
    int WinogradTilesFloats(int batch) => _winograd
        ? _variant.Elements * _variant.Tiles(_fast) * (_geometry.Channels + Filters) * Math.Min(WinogradGroup, Math.Max(batch, 1))
        : 0;

    int ColsFloats => _geometry.OutPixels * Row + 8;
    int ColsGradientFloats => _geometry.OutPixels * _geometry.WindowSize + 8;
    int ListFloats => GradientLists.Floats(_geometry.OutPixels, Filters);

    /// <summary>The input gradient on Winograd's path: the padded output gradient, then its tiles and their products.</summary>
    int TransposedFloats(int batch) => _winogradTransposed
        ? AlignedBuffer.Lines(_transposed.Height * _transposed.Width * Filters + 8)
            + InputGradientVariant.Elements * InputGradientVariant.Tiles(_transposed) * (Filters + _geometry.Channels) * Math.Min(InputGradientGroup, Math.Max(batch, 1))
        : 0;

    int PadFloats => _padded ? AlignedBuffer.Lines(_fast.Height * _fast.Width * _fast.Channels + 8) : 0;

    /// <summary>The gradient accumulators; the sparse one's rows start on cache lines.</summary>
    int AccumulatorsSize => AlignedBuffer.Lines(Row * Filters) + SparseRowStride * Filters + WinogradAccumulatorFloats;
    int WinogradAccumulatorFloats => _winograd ? AlignedBuffer.Lines(_variant.Elements * _geometry.Channels * Filters) : 0;
    int SparseRowStride => AlignedBuffer.Lines(Row);

    /// <summary>Backward reads windows straight from the image when the gradient is sparse and rows are whole vectors.</summary>
    bool SparseDirectApplies => _fast.IsValidStrideOne && _fast.KernelWidth * _fast.Channels % 8 == 0;

    /// <summary>The image the fast paths read: the image itself, or its zero-padded copy in <paramref name="padded"/>.</summary>
    unsafe float* FastInput(float* image, float* padded)
    {
        if (!_padded) return image;
        PadInto(image, _geometry.Height, _geometry.Width, _geometry.Channels, padded, _fast.Height, _fast.Width, _geometry.PadTop, _geometry.PadLeft);
        return padded;
    }

    /// <summary>A channels-last image copied into a larger zeroed one, its first row and column at (top, left).</summary>
    static unsafe void PadInto(float* image, int height, int width, int channels, float* target, int targetHeight, int targetWidth, int top, int left)
    {
        int row = width * channels, targetRow = targetWidth * channels;
        new Span<float>(target, targetHeight * targetRow).Clear();
        float* first = target + top * targetRow + left * channels;
        for (int y = 0; y < height; y++)
            new ReadOnlySpan<float>(image + y * row, row).CopyTo(new Span<float>(first + y * targetRow, row));
    }

    /// <summary>The inverse of <see cref="FastInput"/> for gradients: the padded image's gradient without its border.</summary>
    unsafe void CropGradient(float* padded, float* dx)
    {
        int channels = _geometry.Channels, row = _geometry.Width * channels, paddedRow = _fast.Width * channels;
        float* source = padded + _geometry.PadTop * paddedRow + _geometry.PadLeft * channels;
        for (int y = 0; y < _geometry.Height; y++)
            new ReadOnlySpan<float>(source + y * paddedRow, row).CopyTo(new Span<float>(dx + y * row, row));
    }

    internal override unsafe void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        var g = _geometry;
        var activation = EffectiveActivation;
        bool fusedRelu = activation == Activation.Relu && !DeferActivation;
        var work = scratch[(2 * PadFloats)..];
        if (_winograd && AllowWinograd && Gemm.UseSimd)
        {
            CallWinograd(input, output, batch, fusedRelu, scratch, work);
        }
        else if (DirectApplies && AllowDirect)
        {
            // Valid, stride 1: each output row is a product straight from the image's rows (no im2col copy).
            var f = _fast;
            fixed (float* x = input, y = output, w = Kernel.Value, bias = BiasValues, padded = scratch)
            {
                int rowFloats = f.KernelWidth * f.Channels;
                for (int n = 0; n < batch; n++)
                {
                    float* image = FastInput(x + (long)n * InputSize, padded), result = y + (long)n * OutputSize;
                    for (int oy = 0; oy < f.OutHeight; oy++)
                    {
                        Gemm.MultiplySegments(f.OutWidth, Filters, rowFloats, f.KernelHeight, image + oy * f.Width * f.Channels, f.Channels,
                            f.Width * f.Channels, w, Filters, bias, result + oy * f.OutWidth * Filters, Filters, fusedRelu);
                    }
                }
            }
        }
        else
        {
            fixed (float* x = input, y = output, w = _kernelWithBias, cols = work)
            {
                for (int n = 0; n < batch; n++)
                {
                    Im2Col.Gather(g, x + (long)n * InputSize, cols, extraOnes: 1);
                    Gemm.Multiply(g.OutPixels, Filters, Row, cols, Row, 1, w, Filters, y + (long)n * OutputSize, Filters, accumulate: false, relu: fusedRelu);
                }
            }
        }
        if (!fusedRelu && !DeferActivation) Activations.Forward(activation, output[..(batch * OutputSize)], Filters);
    }

    /// <summary>
    /// Per group of images: transform their input tiles, one product per element of the transformed kernel (16 or 36,
    /// <see cref="WinogradVariant"/>) over all their tiles, transform back.
    /// </summary>
    unsafe void CallWinograd(ReadOnlySpan<float> input, Span<float> output, int batch, bool relu, Span<float> scratch, Span<float> work)
    {
        var g = _fast;
        var w = _variant;
        int tiles = w.Tiles(g), channels = g.Channels, group = Group(WinogradGroup, batch);
        fixed (float* x = input, y = output, u = _kernelWinograd.Span, bias = BiasValues, v = work, padded = scratch)
        {
            float* m = v + w.Elements * group * tiles * channels;
            for (int first = 0; first < batch; first += group)
            {
                int images = Math.Min(group, batch - first);
                for (int i = 0; i < images; i++)
                    w.TransformInput(g, FastInput(x + (long)(first + i) * InputSize, padded), v + i * tiles * channels, group);
                for (int e = 0; e < w.Elements; e++)
                {
                    Gemm.Multiply(images * tiles, Filters, channels, v + e * group * tiles * channels, channels, 1, u + e * channels * Filters, Filters,
                        m + e * group * tiles * Filters, Filters, accumulate: false);
                }
                for (int i = 0; i < images; i++)
                    w.TransformOutput(g, Filters, m + i * tiles * Filters, group, bias, relu, y + (long)(first + i) * OutputSize);
            }
        }
    }

    internal override unsafe void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        var g = _geometry;
        var gradient = outputGradient[..(batch * OutputSize)];
        if (!preActivation) Activations.Backward(EffectiveActivation, output, gradient, Filters);

        int ld = SparseRowStride;
        var work = scratch[(2 * PadFloats)..];
        var denseGradient = work[..(Row * Filters)];
        var sparseGradient = work.Slice(AlignedBuffer.Lines(Row * Filters), ld * Filters);
        var winogradGradient = work.Slice(AlignedBuffer.Lines(Row * Filters) + ld * Filters, WinogradAccumulatorFloats);
        denseGradient.Clear();
        sparseGradient.Clear();
        winogradGradient.Clear();
        bool direct = SparseDirectApplies && AllowDirect;
        bool winogradWeights = _winograd && AllowWinograd && Gemm.UseSimd, usedWinograd = false;
        fixed (float* x = input, dy = gradient, dwb = denseGradient, dwbT = sparseGradient, du = winogradGradient, wt = _kernelTransposed.Span,
            dx = inputGradient, pad = scratch, workStart = work)
        {
            int* windowOffsets = (int*)(workStart + AccumulatorsSize);
            float* cols = workStart + AccumulatorsSize + AlignedBuffer.Lines(g.OutPixels);
            float* colsGradient = cols + RowsRegionFloats(batch);
            float* paddedGradient = pad + PadFloats;
            // Straight from the image the lists take the place of the im2col rows; from the rows, they follow them.
            var lists = new GradientLists(direct ? cols : colsGradient + ColsGradientFloats, g.OutPixels, Filters);
            if (direct) SparseConvolution.WindowOffsets(_fast, windowOffsets);
            else for (int p = 0; p < g.OutPixels; p++) windowOffsets[p] = p * Row;
            if (DenseGradient && winogradWeights)
            {
                // Behind BatchNormalization every image's gradient is dense: both gradients in Winograd's domain, a
                // group of images to each product, and no im2col rows
                int group = Group(WeightGradientGroup, batch);
                for (int first = 0; first < batch; first += group)
                    WeightGradientWinograd(x, dy, first, Math.Min(group, batch - first), group, pad, du, dwb + g.WindowSize * Filters, cols);
                usedWinograd = true;
                if (!inputGradient.IsEmpty) DenseInputGradients(dy, dx, 0, batch, wt, colsGradient);
            }
            else
            {
                for (int n = 0; n < batch; n++)
                {
                    float* dyImage = dy + (long)n * OutputSize;
                    float* image = x + (long)n * InputSize;
                    float* dxImage = dx + (long)n * InputSize;
                    // Behind max pooling most of dy is zero; the sparse products skip the zeros. Elsewhere it may be dense:
                    // counting first spares listing every element for nothing.
                    bool sparse = AllowSparse && !DenseGradient && SparseGemm.NonZeros(dyImage, g.OutPixels, Filters, Filters) < SparseGemm.DensityLimit * OutputSize;
                    if (sparse && direct)
                    {
                        SparseConvolution.List(dyImage, g.OutPixels, Filters, g.WindowSize, windowOffsets, lists);
                        SparseConvolution.AddWeightGradient(_fast, Filters, lists, FastInput(image, pad), dwbT, ld);
                        if (inputGradient.IsEmpty) continue;
                        SparseConvolution.InputGradient(_fast, lists, Filters, windowOffsets, wt, _padded ? paddedGradient : dxImage);
                        if (_padded) CropGradient(paddedGradient, dxImage);
                        continue;
                    }
                    if (!sparse && winogradWeights)
                    {
                        // An image whose gradient is dense behind max pooling after all: Winograd's domain, on its own
                        WeightGradientWinograd(x, dy, n, 1, 1, pad, du, dwb + g.WindowSize * Filters, cols);
                        usedWinograd = true;
                    }
                    else
                    {
                        // A padded convolution's rows come faster from its padded copy, where every window lies inside.
                        if (_padded && AllowDirect && Gemm.UseSimd) Im2Col.Gather(_fast, FastInput(image, pad), cols, extraOnes: 1);
                        else Im2Col.Gather(g, image, cols, extraOnes: 1);
                        AddRowsWeightGradient(dyImage, cols, sparse, !inputGradient.IsEmpty, windowOffsets, lists, dwb, dwbT, ld);
                    }
                    if (inputGradient.IsEmpty) continue;
                    if (!sparse)
                    {
                        DenseInputGradients(dy, dx, n, 1, wt, colsGradient);
                        continue;
                    }
                    // d(cols) = dy · Wᵀ skipping dy's zeros, then each row added back onto the pixels it was gathered from
                    SparseConvolution.RowsGradient(lists, g.OutPixels, Filters, wt, g.WindowSize, colsGradient);
                    new Span<float>(dxImage, InputSize).Clear();
                    Im2Col.ScatterAdd(g, colsGradient, dxImage);
                }
            }
            if (usedWinograd) _variant.AddKernelGradient(du, g.Channels, Filters, dwb);
        }
        // The accumulators into the kernel and bias gradients: dense rows are (window + 1) x filters, sparse transposed.
        float[] kernelGradient = weightGradients[0];
        float[]? biasGradient = UseBias ? weightGradients[1] : null;
        for (int r = 0; r < Row; r++)
        {
            for (int f = 0; f < Filters; f++)
            {
                float value = denseGradient[r * Filters + f] + sparseGradient[f * ld + r];
                if (r < g.WindowSize) kernelGradient[r * Filters + f] += value;
                else if (biasGradient is not null) biasGradient[f] += value;
            }
        }
    }

    /// <summary>
    /// dx of <paramref name="images"/> images from <paramref name="first"/> on, from a dense gradient: on Winograd's path
    /// a group at a time where it applies, else image by image through im2col (d(cols) = dy · Wᵀ, then each row added
    /// back onto the pixels it was gathered from). <paramref name="work"/> holds <see cref="TransposedFloats"/> or one
    /// image's rows' gradient.
    /// </summary>
    unsafe void DenseInputGradients(float* dy, float* dx, int first, int images, float* wt, float* work)
    {
        if (_winogradTransposed && AllowWinograd && Gemm.UseSimd)
        {
            int group = Group(InputGradientGroup, images);
            for (int at = first; at < first + images; at += group)
                InputGradientWinograd(dy + (long)at * OutputSize, dx + (long)at * InputSize, Math.Min(group, first + images - at), group, work);
            return;
        }
        var g = _geometry;
        for (int n = first; n < first + images; n++)
        {
            float* dxImage = dx + (long)n * InputSize;
            Gemm.Multiply(g.OutPixels, g.WindowSize, Filters, dy + (long)n * OutputSize, Filters, 1, wt, g.WindowSize, work, g.WindowSize, accumulate: false);
            new Span<float>(dxImage, InputSize).Clear();
            Im2Col.ScatterAdd(g, work, dxImage);
        }
    }

    /// <summary>
    /// One image's kernel-with-bias gradient from its im2col rows: skipping dy's zeros where it is sparse (listing
    /// them for the input gradient too), else one product.
    /// </summary>
    unsafe void AddRowsWeightGradient(float* dyImage, float* cols, bool sparse, bool inputGradient, int* windowOffsets, in GradientLists lists,
        float* dwb, float* dwbT, int ld)
    {
        var g = _geometry;
        // Narrow rows (the study's first convolution: 28 floats, dy one in four behind pooling) are summed faster
        // densely: listing the non-zeros costs more than the products it spares (measured with bench).
        bool sparseWeights = sparse && Row >= SparseGemm.RowBlock;
        if (sparse && (sparseWeights || inputGradient))
            SparseConvolution.List(dyImage, g.OutPixels, Filters, g.WindowSize, windowOffsets, lists);
        if (sparseWeights)
        {
            // [dW; db]ᵀ (filters x (window + 1)) += dyᵀ · cols, skipping dy's zeros
            SparseConvolution.AddWeightGradientFromRows(lists, g.OutPixels, Filters, cols, Row, dwbT, ld);
        }
        else
        {
            // [dW; db] ((window + 1) x filters) += colsᵀ · dy
            Gemm.Multiply(Row, Filters, g.OutPixels, cols, 1, Row, dyImage, Filters, dwb, Filters, accumulate: true);
        }
    }

    /// <summary>
    /// The weight gradient of <paramref name="images"/> images from <paramref name="first"/> on, in Winograd's domain:
    /// dU[e] (channels x filters) += V[e]ᵀ · dZ[e], V their tiles (as the forward pass transforms them) and dZ dy's
    /// (<see cref="WinogradVariant.TransformGradient"/>), one product per element over all their tiles, held as a
    /// group of <paramref name="group"/>; the kernel gradient is Gᵀ dU G once per batch. The bias gradient is dy summed
    /// over the pixels. <paramref name="work"/> holds <see cref="WinogradTilesFloats"/>.
    /// </summary>
    unsafe void WeightGradientWinograd(float* x, float* dy, int first, int images, int group, float* pad, float* du, float* biasGradient, float* work)
    {
        var g = _fast;
        var w = _variant;
        int tiles = w.Tiles(g), channels = g.Channels;
        float* v = work, dz = work + w.Elements * group * tiles * channels;
        for (int i = 0; i < images; i++)
        {
            w.TransformInput(g, FastInput(x + (long)(first + i) * InputSize, pad), v + i * tiles * channels, group);
            w.TransformGradient(g, Filters, dy + (long)(first + i) * OutputSize, dz + i * tiles * Filters, group);
        }
        for (int e = 0; e < w.Elements; e++)
        {
            Gemm.Multiply(channels, Filters, images * tiles, v + e * group * tiles * channels, 1, channels, dz + e * group * tiles * Filters, Filters,
                du + e * channels * Filters, Filters, accumulate: true);
        }
        var bias = new Span<float>(biasGradient, Filters);
        for (int i = 0; i < images; i++)
        {
            float* dyImage = dy + (long)(first + i) * OutputSize;
            for (int p = 0; p < g.OutPixels; p++) TensorPrimitives.Add(bias, new ReadOnlySpan<float>(dyImage + (long)p * Filters, Filters), bias);
        }
    }

    /// <summary>
    /// dx of <paramref name="images"/> images as the full correlation of dy (padded by kernel − 1 − padding on each
    /// side) with the flipped, channel-swapped kernel: Winograd's transforms and products, as the forward pass, over a
    /// group of <paramref name="group"/>. <paramref name="work"/> holds <see cref="TransposedFloats"/>.
    /// </summary>
    unsafe void InputGradientWinograd(float* dy, float* dx, int images, int group, float* work)
    {
        var g = _geometry;
        var t = _transposed;
        var w = InputGradientVariant;
        int tiles = w.Tiles(t), channels = g.Channels;
        float* padded = work, v = work + AlignedBuffer.Lines(t.Height * t.Width * Filters + 8), m = v + w.Elements * group * tiles * Filters;
        for (int i = 0; i < images; i++)
        {
            PadInto(dy + (long)i * OutputSize, g.OutHeight, g.OutWidth, Filters, padded, t.Height, t.Width, g.KernelHeight - 1 - g.PadTop, g.KernelWidth - 1 - g.PadLeft);
            w.TransformInput(t, padded, v + i * tiles * Filters, group);
        }
        fixed (float* u = _kernelFlippedWinograd.Span, zero = _zeroChannels)
        {
            for (int e = 0; e < w.Elements; e++)
            {
                Gemm.Multiply(images * tiles, channels, Filters, v + e * group * tiles * Filters, Filters, 1, u + e * Filters * channels, channels,
                    m + e * group * tiles * channels, channels, accumulate: false);
            }
            for (int i = 0; i < images; i++)
                w.TransformOutput(t, channels, m + i * tiles * channels, group, zero, relu: false, dx + (long)i * InputSize);
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["filters"] = Filters;
        config["kernel_size"] = new[] { KernelSize.Height, KernelSize.Width };
        config["strides"] = new[] { Strides.Height, Strides.Width };
        config["padding"] = Padding;
        config["data_format"] = "channels_last";
        config["dilation_rate"] = new[] { 1, 1 };
        config["groups"] = 1;
        config["activation"] = Activations.Name(Activation);
        config["use_bias"] = UseBias;
        config["kernel_initializer"] = KerasObjects.Initializer("GlorotUniform");
        config["bias_initializer"] = KerasObjects.Initializer("Zeros");
        foreach (string key in new[] { "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint" })
            config[key] = null;
        return config;
    }
}
