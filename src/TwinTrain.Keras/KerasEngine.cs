using System.Diagnostics;
using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras;

/// <summary>One kernel of a layer's step, timed alone on one thread by <see cref="KerasEngine.BenchmarkKernels"/>.</summary>
/// <param name="Shape">m x n x k of its product (or what it works on).</param>
/// <param name="GflopsPerSecond">The flops the kernel does per second (the zeros a sparse kernel skips are not counted).</param>
public sealed record KernelTiming(string Layer, string Kernel, string Shape, double GflopsPerSecond);

/// <summary>
/// The compute engine seen from outside: which instructions it runs on, a switch to its scalar fallback for tests,
/// and bench's micro-benchmark of the kernels it runs for a model. Everything else in the engine is internal.
/// </summary>
public static class KerasEngine
{
    /// <summary>"AVX2+FMA" where the CPU has them (and they are not forced off on this thread), else "scalar".</summary>
    public static string InstructionSet => Gemm.UseSimd ? "AVX2+FMA" : "scalar";

    /// <summary>Runs the scalar fallback on this thread until disposed, as on a CPU without AVX2/FMA.</summary>
    public static IDisposable ForceScalar() => Gemm.ForceScalar();

    /// <summary>
    /// Times each kernel the engine runs for the model's convolutions and dense layers, on their own shapes, one
    /// thread, for <paramref name="budgetPerKernel"/> each: the forward product on the path the layer takes (Winograd,
    /// straight from the image rows, or im2col), and the backward products (sparse on one non-zero in eight where the
    /// layer has a sparse path, and those it runs on a dense gradient: Winograd's or im2col's). Dense layers on 32 samples.
    /// </summary>
    public static IReadOnlyList<KernelTiming> BenchmarkKernels(Sequential model, TimeSpan budgetPerKernel)
    {
        ArgumentNullException.ThrowIfNull(model);
        // The paths a layer takes depend on the layers around it (a dense gradient where no max pooling follows).
        model.PlanExecution();
        using var buffers = new Buffers();
        var timings = new List<KernelTiming>();
        void Add(Layer layer, string kernel, string shape, (Action Run, double Flops) probe) =>
            timings.Add(new KernelTiming(layer.Name, kernel, shape, Measure(probe, budgetPerKernel)));
        for (int l = 0; l < model.Layers.Count; l++)
        {
            bool first = l == 0;
            switch (model.Layers[l])
            {
                case Conv2D conv: AddConvolution(conv, first, buffers, Add); break;
                case Dense dense:
                    const int samples = 32;
                    Add(dense, "forward", Shape(samples, dense.Units, dense.InputSize), Product(buffers, samples, dense.Units, dense.InputSize, transposed: false));
                    Add(dense, "weight gradient (Aᵀ)", Shape(dense.InputSize, dense.Units, samples), Product(buffers, dense.InputSize, dense.Units, samples, transposed: true));
                    if (!first) Add(dense, "input gradient", Shape(samples, dense.InputSize, dense.Units), Product(buffers, samples, dense.InputSize, dense.Units, transposed: false));
                    break;
            }
        }
        return timings;
    }

    static void AddConvolution(Conv2D conv, bool first, Buffers buffers, Action<Layer, string, string, (Action, double)> add)
    {
        var g = conv.Geometry;
        var fast = conv.FastGeometry;
        int filters = conv.Filters, row = g.WindowSize + 1;
        var w = conv.Variant;
        // Winograd's products take a group of images' tiles at once (the weight gradient's only where it is dense).
        if (conv.ForwardWinograd && Gemm.UseSimd)
        {
            int tiles = w.Tiles(fast) * conv.WinogradGroup;
            add(conv, $"forward, Winograd {w.Name} (x{w.Elements})", Shape(tiles, filters, fast.Channels), Product(buffers, tiles, filters, fast.Channels, transposed: false));
        }
        else if (conv.ForwardFromRows)
            add(conv, "forward, from image rows (per row)", Shape(fast.OutWidth, filters, fast.WindowSize), RowsForward(buffers, fast, filters));
        else
            add(conv, "forward, im2col product", Shape(g.OutPixels, filters, row), Product(buffers, g.OutPixels, filters, row, transposed: false));

        if (conv.SparseBackwardFromImage && !conv.DenseGradient)
            add(conv, first ? "weight gradient, sparse (1 in 8)" : "both gradients, sparse (1 in 8)", $"{fast.OutPixels}x{filters} gradient", SparseBackward(buffers, fast, filters, first));
        if (conv.ForwardWinograd && Gemm.UseSimd)
        {
            int tiles = w.Tiles(fast) * conv.WeightGradientGroup;
            add(conv, $"weight gradient, Winograd {w.Name} (x{w.Elements})", Shape(fast.Channels, filters, tiles), Product(buffers, fast.Channels, filters, tiles, transposed: true));
        }
        else
            add(conv, "weight gradient, dense (Aᵀ)", Shape(row, filters, g.OutPixels), Product(buffers, row, filters, g.OutPixels, transposed: true));
        if (first) return;
        if (conv.WinogradInputGradient is { } transposed)
        {
            var t = Conv2D.InputGradientVariant;
            int tiles = t.Tiles(transposed) * conv.InputGradientGroup;
            add(conv, $"input gradient, Winograd {t.Name} (x{t.Elements})", Shape(tiles, g.Channels, filters), Product(buffers, tiles, g.Channels, filters, transposed: false));
        }
        else
            add(conv, "input gradient, dense", Shape(g.OutPixels, g.WindowSize, filters), Product(buffers, g.OutPixels, g.WindowSize, filters, transposed: false));
    }

    static string Shape(int m, int n, int k) => $"{m}x{n}x{k}";

    /// <summary>Runs the kernel for the time budget; returns its GFLOP/s.</summary>
    static double Measure((Action Run, double Flops) kernel, TimeSpan budget)
    {
        kernel.Run();
        long calls = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < budget)
        {
            for (int i = 0; i < 10; i++) kernel.Run();
            calls += 10;
        }
        return calls * kernel.Flops / clock.Elapsed.TotalSeconds / 1e9;
    }

    static unsafe (Action, double) Product(Buffers buffers, int m, int n, int k, bool transposed)
    {
        float* a = buffers.Filled(m * k), b = buffers.Filled(k * n), c = buffers.Filled(m * n);
        nint aRow = transposed ? 1 : k, aCol = transposed ? m : 1;
        return (() => Gemm.Multiply(m, n, k, a, aRow, aCol, b, n, c, n, accumulate: transposed), 2.0 * m * n * k);
    }

    /// <summary>One output row of a valid stride-1 convolution: its kernel rows read straight from the image.</summary>
    static unsafe (Action, double) RowsForward(Buffers buffers, ConvGeometry g, int filters)
    {
        int rowFloats = g.KernelWidth * g.Channels;
        float* image = buffers.Filled(g.Height * g.Width * g.Channels), kernel = buffers.Filled(g.WindowSize * filters);
        float* bias = buffers.Filled(filters), output = buffers.Filled(g.OutWidth * filters);
        return (() => Gemm.MultiplySegments(g.OutWidth, filters, rowFloats, g.KernelHeight, image, g.Channels, g.Width * g.Channels, kernel, filters, bias, output, filters, relu: true),
            2.0 * g.OutWidth * filters * g.WindowSize);
    }

    /// <summary>The sparse backward pass of one image whose output gradient has one non-zero in eight (a fixed pattern).</summary>
    static unsafe (Action, double) SparseBackward(Buffers buffers, ConvGeometry g, int filters, bool weightsOnly)
    {
        int pixels = g.OutPixels, window = g.WindowSize, ld = AlignedBuffer.Lines(window + 1);
        float* dy = buffers.Filled(pixels * filters), image = buffers.Filled(g.Height * g.Width * g.Channels);
        float* kernelTransposed = buffers.Filled(filters * window), weightGradient = buffers.Filled(filters * ld);
        float* inputGradient = buffers.Filled(g.Height * g.Width * g.Channels), listMemory = buffers.Filled(GradientLists.Floats(pixels, filters));
        int* offsets = (int*)buffers.Filled(pixels);
        int nonZeros = 0;
        for (int i = 0; i < pixels * filters; i++)
        {
            // A multiplicative hash's top three bits: one index in eight, scattered.
            if ((uint)i * 2654435761u >> 29 == 0) nonZeros++;
            else dy[i] = 0f;
        }
        SparseConvolution.WindowOffsets(g, offsets);
        var lists = new GradientLists(listMemory, pixels, filters);
        return (() =>
        {
            SparseConvolution.List(dy, pixels, filters, window, offsets, lists);
            SparseConvolution.AddWeightGradient(g, filters, lists, image, weightGradient, ld);
            if (!weightsOnly) SparseConvolution.InputGradient(g, lists, filters, offsets, kernelTransposed, inputGradient);
        }, (weightsOnly ? 1 : 2) * 2.0 * nonZeros * window);
    }

    /// <summary>The benchmark's pinned, cache-line aligned buffers of small non-zero values, 8 floats of room past each end.</summary>
    sealed class Buffers : IDisposable
    {
        readonly List<AlignedBuffer> _all = [];

        public unsafe float* Filled(int count)
        {
            var buffer = new AlignedBuffer(count + 8);
            for (int i = 0; i < buffer.Length; i++) buffer.Span[i] = (i % 7 + 1) * 0.1f;
            _all.Add(buffer);
            return buffer.Pointer;
        }

        /// <summary>Keeps the buffers alive until the kernels holding raw pointers into them are done.</summary>
        public void Dispose() => GC.KeepAlive(_all);
    }
}
