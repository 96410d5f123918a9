using System.Diagnostics;
using System.Globalization;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;

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
    public static Keras.TrainingProfile LayerProfile(Architecture architecture, int threads, int batchSize, int steps)
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
    /// Single-thread GFLOP/s of the kernels the Keras-style engine runs for the architecture, on its layers' shapes,
    /// through the engine's one door for it (<see cref="Keras.KerasEngine.BenchmarkKernels"/>).
    /// </summary>
    public static IReadOnlyList<Keras.KernelTiming> KernelMicroBenchmark(Architecture architecture, TimeSpan budgetPerKernel)
    {
        using var model = architecture.Build(seed: 0);
        return Keras.KerasEngine.BenchmarkKernels(model, budgetPerKernel);
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
