using System.Diagnostics;
using System.Globalization;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Keras.Engine;

namespace TwinTrain.Experiment;

/// <summary>Throughput of one framework in one round of the benchmark.</summary>
public sealed record BenchRound(string Framework, double TrainImagesPerSecond, double EvalImagesPerSecond);

/// <summary>One framework's medians over the rounds.</summary>
public sealed record BenchMedian(string Framework, double TrainImagesPerSecond, double EvalImagesPerSecond);

/// <summary>The benchmark's result: medians per framework (in the order measured) over interleaved rounds, and how busy the machine was.</summary>
public sealed record BenchResult(IReadOnlyList<BenchRound> Rounds, IReadOnlyList<BenchMedian> Medians, Reporting.MachineLoad? Load = null)
{
    public BenchMedian? Of(string framework) => Medians.FirstOrDefault(m => m.Framework == framework);

    /// <summary>The rounds run while other processes took a core's fifth or more.</summary>
    public int DisturbedRounds { get; init; }
}

/// <summary>
/// Trains an architecture on random images with both frameworks in this process, after a warm-up, in interleaved
/// rounds (torch, keras, torch, keras, ...) so that drifts in the machine's speed hit both alike; reports medians.
/// Uses the frameworks' real training and evaluation paths (the same as `twintrain train`).
/// </summary>
public static class Benchmark
{
    /// <summary>
    /// FLOPs per image of the architecture's dense work (convolutions and dense layers, counted as direct products):
    /// evaluation is the forward pass; a training step adds the weight gradients and the input gradients but the first
    /// layer's, which is never needed.
    /// </summary>
    public static (double Train, double Eval) FlopsPerImage(Architecture architecture)
    {
        using var model = architecture.Build(seed: 0);
        var layers = model.Layers.Select((layer, l) => Keras.LayerTiming.DenseFlops(layer, first: l == 0, images: 1)).ToList();
        return (layers.Sum(f => f.Forward + f.Backward), layers.Sum(f => f.Forward));
    }

    /// <summary>
    /// Interleaved rounds of the frameworks named (default torch, keras) and, with <paramref name="tunedTorch"/>,
    /// torch-tuned (TorchSharp tuned for CPU, registered by the program but not offered to compare); each round's machine load
    /// is measured and a disturbed round flagged. A worker's training rate is by its own clock.
    /// </summary>
    public static BenchResult Run(Architecture architecture, int threads, int batchSize, int steps, int rounds, TextWriter log, bool tunedTorch = false,
        IReadOnlyList<string>? frameworks = null)
    {
        var overall = new Reporting.MachineLoadMeter(threads);
        int disturbedRounds = 0;
        var config = new TrainingConfig { Epochs = 1, BatchSize = batchSize, Threads = threads, Seed = 0, Arch = architecture.Name, ArchDigest = architecture.Digest };
        var train = RandomImages(batchSize * steps, seed: 1, architecture);
        var warmup = RandomImages(batchSize * Math.Max(20, steps / 5), seed: 2, architecture);
        var evaluation = RandomImages(Math.Max(batchSize * steps, 2048), seed: 3, architecture);
        var results = new List<BenchRound>();
        string[] names = [.. frameworks ?? FrameworkCatalog.DefaultComparison, .. tunedTorch ? ["torch-tuned"] : Array.Empty<string>()];
        var measured = names.Select(n => FrameworkCatalog.Create(n, config, train, architecture)).ToList();
        try
        {
            foreach (string name in names)
            {
                using var warm = FrameworkCatalog.Create(name, config, warmup, architecture);
                warm.TrainEpoch(0, null, CancellationToken.None);
                warm.Evaluate(warmup);
            }
            for (int round = 0; round < rounds; round++)
            {
                var roundLoad = new Reporting.MachineLoadMeter(threads);
                foreach (var framework in measured)
                {
                    var clock = Stopwatch.StartNew();
                    framework.TrainEpoch(round, null, CancellationToken.None);
                    double trainRate = train.Count / (framework.LastEpochSeconds ?? clock.Elapsed.TotalSeconds);
                    clock.Restart();
                    framework.Evaluate(evaluation);
                    double evalRate = evaluation.Count / clock.Elapsed.TotalSeconds;
                    results.Add(new BenchRound(framework.Name, trainRate, evalRate));
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {round + 1}/{rounds} {framework.Name,-11}: train {trainRate,7:F0} img/s, eval {evalRate,7:F0} img/s"));
                }
                if (roundLoad.Measure() is { Disturbed: true } busy)
                {
                    disturbedRounds++;
                    log.WriteLine($"  round {round + 1} was disturbed: {busy.Describe()}");
                }
            }
        }
        finally
        {
            foreach (var framework in measured) framework.Dispose();
        }
        double Median(string name, Func<BenchRound, double> pick)
        {
            var values = results.Where(r => r.Framework == name).Select(pick).Order().ToArray();
            return values.Length % 2 == 1 ? values[values.Length / 2] : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
        }
        return new BenchResult(results, [.. names.Select(n => new BenchMedian(n, Median(n, r => r.TrainImagesPerSecond), Median(n, r => r.EvalImagesPerSecond)))],
            overall.Measure()) { DisturbedRounds = disturbedRounds };
    }

    /// <summary>
    /// The Keras-style engine's time per layer and pass over <paramref name="steps"/> training steps on random images
    /// (after as many untimed ones), through the engine's one door for it (<see cref="Keras.Sequential.ProfileTraining"/>).
    /// </summary>
    public static (IReadOnlyList<Keras.LayerTiming> Layers, double StepSeconds) LayerProfile(Architecture architecture, int threads, int batchSize, int steps)
    {
        using var model = architecture.Build(seed: 0);
        model.Threads = threads;
        model.Compile();
        var images = RandomImages(batchSize * Math.Min(steps, 20), seed: 4, architecture);
        var x = new float[images.Count * images.Shape.Pixels];
        new PixelConverter(ImageLayout.Nhwc).Fill(images, [.. Enumerable.Range(0, images.Count)], x);
        var y = images.Labels.Select(l => (int)l).ToArray();
        model.ProfileTraining(x, y, batchSize, steps);
        return model.ProfileTraining(x, y, batchSize, steps);
    }

    /// <summary>Random CIFAR-10-shaped images with labels 0..9.</summary>
    public static ImageSet RandomImages(int count, int seed) => RandomImages(count, seed, ImageShape.Cifar, 10);

    /// <summary>Random images of the shape an architecture takes, labelled with its classes.</summary>
    public static ImageSet RandomImages(int count, int seed, Architecture architecture) => RandomImages(count, seed,
        architecture.ImageShape ?? throw new InvalidDataException($"{architecture.Source}: not an image model."), architecture.OutputSize);

    public static ImageSet RandomImages(int count, int seed, ImageShape shape, int classes)
    {
        var random = new SplitMix64((ulong)seed);
        var pixels = new byte[count * shape.Pixels];
        var word = new byte[8];
        for (int i = 0; i < pixels.Length; i += 8)
        {
            BitConverter.TryWriteBytes(word, random.NextUInt64());
            word.AsSpan(0, Math.Min(8, pixels.Length - i)).CopyTo(pixels.AsSpan(i));
        }
        var labels = new byte[count];
        for (int i = 0; i < count; i++) labels[i] = (byte)random.NextInt(classes);
        return new ImageSet(pixels, labels, shape);
    }

    /// <summary>
    /// Single-thread GFLOP/s of the kernels the engine runs for the study's CNN, on its shapes, counting the flops each
    /// kernel does (the sparse one's skipped zeros are not counted).
    /// </summary>
    public static IReadOnlyList<(string Kernel, double GflopsPerSecond)> KernelMicroBenchmark(TimeSpan budgetPerKernel)
    {
        var buffers = new Buffers();
        // The study's shapes, read off its architecture: conv1 on the image, conv2 behind the first pooling, fc1 after Flatten.
        using var study = Architecture.Study.Build(seed: 0);
        var convs = study.Layers.OfType<Keras.Layers.Conv2D>().ToArray();
        var fc1 = study.Layers.OfType<Keras.Layers.Dense>().First();
        var (conv1, conv2) = (Geometry(convs[0]), Geometry(convs[1]));
        int filters1 = convs[0].Filters, filters2 = convs[1].Filters, tiles = (conv2.OutHeight + 1) / 2 * ((conv2.OutWidth + 1) / 2);
        const int micro = 32;
        (string, double)[] results =
        [
            (Name("conv1 forward, from image rows", $"{conv1.OutWidth}x{filters1}x{conv1.WindowSize} per row"), Measure(Conv1RowsForward(buffers, conv1, filters1), budgetPerKernel)),
            (Name("conv1 weight gradient (Aᵀ)", $"{conv1.WindowSize + 1}x{filters1}x{conv1.OutPixels}"), Measure(Product(buffers, conv1.WindowSize + 1, filters1, conv1.OutPixels, transposed: true), budgetPerKernel)),
            (Name("conv2 forward, Winograd product", $"{tiles}x{filters2}x{conv2.Channels} (x16)"), Measure(Product(buffers, tiles, filters2, conv2.Channels, transposed: false), budgetPerKernel)),
            (Name("conv2 backward, sparse (1 in 8)", "both gradients"), Measure(Conv2SparseBackward(buffers, conv2, filters2), budgetPerKernel)),
            (Name("fc1 forward", $"{micro}x{fc1.Units}x{fc1.InputSize}"), Measure(Product(buffers, micro, fc1.Units, fc1.InputSize, transposed: false), budgetPerKernel)),
        ];
        GC.KeepAlive(buffers); // the kernels hold raw pointers into its buffers
        return results;
    }

    static string Name(string kernel, string shape) => $"{kernel,-32} {shape,-16}";

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

    static ConvGeometry Geometry(Keras.Layers.Conv2D conv) => new(conv.InputShape[0], conv.InputShape[1], conv.InputShape[2],
        conv.KernelSize.Height, conv.KernelSize.Width, 1, 1, 0, 0, conv.OutputShape[0], conv.OutputShape[1]);

    /// <summary>One output row of conv1: its kernel rows read straight from the image.</summary>
    static unsafe (Action, double) Conv1RowsForward(Buffers buffers, ConvGeometry g, int filters)
    {
        int rowFloats = g.KernelWidth * g.Channels;
        float* image = buffers.Filled(g.Height * g.Width * g.Channels), kernel = buffers.Filled(g.WindowSize * filters);
        float* bias = buffers.Filled(filters), output = buffers.Filled(g.OutWidth * filters);
        return (() => Gemm.MultiplySegments(g.OutWidth, filters, rowFloats, g.KernelHeight, image, g.Channels, g.Width * g.Channels, kernel, filters, bias, output, filters, relu: true),
            2.0 * g.OutWidth * filters * g.WindowSize);
    }

    /// <summary>conv2's weight and input gradients for one image whose output gradient has one non-zero in eight.</summary>
    static unsafe (Action, double) Conv2SparseBackward(Buffers buffers, ConvGeometry g, int filters)
    {
        int pixels = g.OutPixels, window = g.WindowSize, ld = AlignedBuffer.Lines(window + 1);
        float* dy = buffers.Filled(pixels * filters), image = buffers.Filled(g.Height * g.Width * g.Channels);
        float* kernelTransposed = buffers.Filled(filters * window), weightGradient = buffers.Filled(filters * ld);
        float* inputGradient = buffers.Filled(g.Height * g.Width * g.Channels), listMemory = buffers.Filled(GradientLists.Floats(pixels, filters));
        int* offsets = (int*)buffers.Filled(pixels);
        var random = new SplitMix64(4);
        int nonZeros = 0;
        for (int i = 0; i < pixels * filters; i++)
        {
            bool keep = random.NextInt(8) == 0;
            if (!keep) dy[i] = 0f;
            else nonZeros++;
        }
        SparseConvolution.WindowOffsets(g, offsets);
        var lists = new GradientLists(listMemory, pixels, filters);
        return (() =>
        {
            SparseConvolution.List(dy, pixels, filters, window, offsets, lists);
            SparseConvolution.AddWeightGradient(g, filters, lists, image, weightGradient, ld);
            SparseConvolution.InputGradient(g, lists, filters, offsets, kernelTransposed, inputGradient);
        }, 2 * 2.0 * nonZeros * window);
    }

    /// <summary>The micro-benchmark's pinned, cache-line aligned buffers; they live as long as the kernels using them.</summary>
    sealed class Buffers
    {
        readonly List<AlignedBuffer> _all = [];

        /// <summary>A buffer of small values (8 floats of room past the end), by its first float.</summary>
        public unsafe float* Filled(int count)
        {
            var buffer = new AlignedBuffer(count + 8);
            for (int i = 0; i < buffer.Length; i++) buffer.Span[i] = (i % 7) * 0.1f;
            _all.Add(buffer);
            return buffer.Pointer;
        }
    }

    /// <summary>The CPU's nominal fp32 FMA peak: cores x 2 FMA units x 8 lanes x 2 flops x clock, with the clock from /proc/cpuinfo.</summary>
    public static (double Gflops, string How) NominalPeak(int cores)
    {
        double? mhz = null;
        try
        {
            string? line = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("cpu MHz", StringComparison.Ordinal)) : null;
            if (line is not null && double.TryParse(line[(line.IndexOf(':') + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value)) mhz = value;
        }
        catch (IOException) { }
        if (mhz is null) return (double.NaN, "clock unknown (no 'cpu MHz' in /proc/cpuinfo)");
        double peak = cores * 2 * 8 * 2 * mhz.Value / 1000;
        return (peak, string.Create(CultureInfo.InvariantCulture,
            $"{cores} cores x 2 FMA units x 8 fp32 lanes x 2 flops x {mhz.Value / 1000:F3} GHz ('cpu MHz' in /proc/cpuinfo; turbo can exceed it)"));
    }
}
