using System.Runtime.Intrinsics;
using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>
/// Max pooling over channels-last images; strides default to the pool size. With 'same' padding a window past the
/// edge takes the maximum of what lies inside, as TensorFlow does.
/// </summary>
public sealed class MaxPooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides = null, string? name = null, string padding = "valid")
    : Pooling2D(poolSize, strides, name, padding)
{
    public static Layer FromConfig(LayerConfig c)
    {
        var (pool, strides, padding) = ReadConfig(c);
        return new MaxPooling2D(pool, strides, c.Name, padding);
    }

    /// <summary>
    /// Set by the executor when the layer before ends in ReLU: routing the gradient, a window's maximum then passes it
    /// on only if positive, which is the ReLU's derivative at that element, so the layer before skips its own pass.
    /// The gradient this gives is then with respect to the ReLU's input.
    /// </summary>
    internal bool AppliesReluDerivative { get; set; }

    internal override unsafe void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        if (input.Length < batch * InputSize || output.Length < batch * OutputSize) throw new ArgumentException("Buffers too small for the batch.");
        fixed (float* x = input, y = output)
        {
            bool fast = FastPathApplies;
            for (int n = 0; n < batch; n++)
            {
                if (fast) Pool2x2(x + (long)n * InputSize, y + (long)n * OutputSize, null, null);
                else Pool(x + (long)n * InputSize, y + (long)n * OutputSize, null, null, overwrite: false);
            }
        }
    }

    internal override unsafe void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (inputGradient.IsEmpty) return;
        if (input.Length < batch * InputSize || inputGradient.Length < batch * InputSize || outputGradient.Length < batch * OutputSize)
            throw new ArgumentException("Buffers too small for the batch.");
        // Windows that tile the image (stride = pool size) write each element once: no clearing but of the edge the
        // windows leave uncovered. Overlapping or gapped windows accumulate into a cleared gradient.
        bool tiled = Strides == PoolSize;
        if (!tiled) inputGradient[..(batch * InputSize)].Clear();
        bool fast = FastPathApplies;
        fixed (float* x = input, dx = inputGradient, dy = outputGradient)
        {
            for (int n = 0; n < batch; n++)
            {
                float* image = dx + (long)n * InputSize;
                if (tiled) ClearUncovered(image);
                if (fast) Pool2x2(x + (long)n * InputSize, null, image, dy + (long)n * OutputSize);
                else Pool(x + (long)n * InputSize, null, image, dy + (long)n * OutputSize, overwrite: tiled);
            }
        }
    }

    /// <summary>The common 2x2 pool with stride 2 over channels in eights, which <see cref="Pool2x2"/> does unrolled.</summary>
    bool FastPathApplies => Gemm.UseSimd && PoolSize == (2, 2) && Strides == (2, 2) && InputShape[2] % 8 == 0 && Unpadded;

    /// <summary>
    /// <see cref="Pool"/> for 2x2 windows with stride 2: the four elements compared in registers, each written once in
    /// the backward pass (the gradient to the first maximum, zero to the others).
    /// </summary>
    unsafe void Pool2x2(float* x, float* y, float* dx, float* dy)
    {
        int channels = InputShape[2], row = InputShape[1] * channels;
        int outHeight = OutputShape[0], outWidth = OutputShape[1];
        bool reluDerivative = AppliesReluDerivative;
        for (int oy = 0; oy < outHeight; oy++)
        {
            long top = 2L * oy * row;
            long o = (long)oy * outWidth * channels;
            for (int ox = 0; ox < outWidth; ox++, top += 2 * channels, o += channels)
            {
                for (int c = 0; c < channels; c += 8)
                {
                    long at = top + c;
                    var a = Vector256.Load(x + at);
                    var b = Vector256.Load(x + at + channels);
                    var d = Vector256.Load(x + at + row);
                    var e = Vector256.Load(x + at + row + channels);
                    var best = Vector256.Max(Vector256.Max(a, b), Vector256.Max(d, e));
                    if (y != null)
                    {
                        best.Store(y + o + c);
                        continue;
                    }
                    var gradient = Vector256.Load(dy + o + c);
                    if (reluDerivative) gradient &= Vector256.GreaterThan(best, Vector256<float>.Zero);
                    var hit = Vector256.Equals(a, best);
                    var unrouted = ~hit;
                    (gradient & hit).Store(dx + at);
                    hit = Vector256.Equals(b, best) & unrouted;
                    unrouted &= ~hit;
                    (gradient & hit).Store(dx + at + channels);
                    hit = Vector256.Equals(d, best) & unrouted;
                    unrouted &= ~hit;
                    (gradient & hit).Store(dx + at + row);
                    (gradient & Vector256.Equals(e, best) & unrouted).Store(dx + at + row + channels);
                }
            }
        }
    }

    /// <summary>Zeroes the rows and columns past the last whole window, which no window writes.</summary>
    unsafe void ClearUncovered(float* dx)
    {
        int height = InputShape[0], width = InputShape[1], channels = InputShape[2];
        int coveredRows = OutputShape[0] * PoolSize.Height - PadTop, coveredColumns = OutputShape[1] * PoolSize.Width - PadLeft;
        for (int row = 0; row < height; row++)
        {
            if (row >= coveredRows) new Span<float>(dx + row * width * channels, width * channels).Clear();
            else if (coveredColumns < width)
                new Span<float>(dx + (row * width + coveredColumns) * channels, (width - coveredColumns) * channels).Clear();
        }
    }

    /// <summary>
    /// Finds each window's maximum per channel: writes it to y (forward), or adds the output's gradient dy to the
    /// first element holding the maximum in dx (backward; with <paramref name="overwrite"/> it writes the window's
    /// elements instead of adding, zero where not the maximum). Eight channels at a time where the channels allow.
    /// </summary>
    unsafe void Pool(float* x, float* y, float* dx, float* dy, bool overwrite)
    {
        int width = InputShape[1], channels = InputShape[2];
        int outHeight = OutputShape[0], outWidth = OutputShape[1];
        bool vector = Gemm.UseSimd, reluDerivative = AppliesReluDerivative;
        for (int oy = 0; oy < outHeight; oy++)
        for (int ox = 0; ox < outWidth; ox++)
        {
            int o = (oy * outWidth + ox) * channels;
            var (row, poolHeight, column, poolWidth) = Window(oy, ox);
            float* first = x + (row * width + column) * channels;
            int c = 0;
            if (vector)
            {
                for (; c + 8 <= channels; c += 8)
                {
                    var best = Vector256.Load(first + c);
                    for (int py = 0; py < poolHeight; py++)
                    for (int px = 0; px < poolWidth; px++)
                        best = Vector256.Max(best, Vector256.Load(first + (py * width + px) * channels + c));
                    if (y != null)
                    {
                        best.Store(y + o + c);
                        continue;
                    }
                    var gradient = Vector256.Load(dy + o + c);
                    if (reluDerivative) gradient &= Vector256.GreaterThan(best, Vector256<float>.Zero);
                    var unrouted = Vector256<float>.AllBitsSet;
                    for (int py = 0; py < poolHeight; py++)
                    for (int px = 0; px < poolWidth; px++)
                    {
                        int at = (int)(first - x) + (py * width + px) * channels + c;
                        var hit = Vector256.Equals(Vector256.Load(x + at), best) & unrouted;
                        unrouted &= ~hit;
                        var routed = gradient & hit;
                        (overwrite ? routed : Vector256.Load(dx + at) + routed).Store(dx + at);
                    }
                }
            }
            for (; c < channels; c++)
            {
                float best = float.NegativeInfinity;
                int bestAt = -1;
                for (int py = 0; py < poolHeight; py++)
                for (int px = 0; px < poolWidth; px++)
                {
                    int at = (int)(first - x) + (py * width + px) * channels + c;
                    if (x[at] > best || bestAt < 0) { best = x[at]; bestAt = at; }
                    if (overwrite) dx[at] = 0f;
                }
                if (y != null) y[o + c] = best;
                else if (!reluDerivative || best > 0f) dx[bestAt] += dy[o + c];
            }
        }
    }
}
