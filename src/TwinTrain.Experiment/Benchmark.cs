using System.Diagnostics;
using System.Globalization;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Keras.Engine;

namespace TwinTrain.Experiment;

/// <summary>Throughput of one framework in one round of the benchmark.</summary>
public sealed record BenchRound(string Framework, double TrainImagesPerSecond, double EvalImagesPerSecond);

/// <summary>The benchmark's result: medians per framework over interleaved rounds, and the ratios.</summary>
public sealed record BenchResult(IReadOnlyList<BenchRound> Rounds, double TorchTrain, double TorchEval, double KerasTrain, double KerasEval)
{
    public double TrainRatio => KerasTrain / TorchTrain;
    public double EvalRatio => KerasEval / TorchEval;
}

/// <summary>
/// Trains the study's CNN on random images with both frameworks in this process, after a warm-up, in interleaved
/// rounds (torch, keras, torch, keras, ...) so that drifts in the machine's speed hit both alike; reports medians.
/// Uses the frameworks' real training and evaluation paths (the same as `twintrain train`).
/// </summary>
public static class Benchmark
{
    /// <summary>Multiply-adds of one forward pass of the study's CNN, per image.</summary>
    public const double ForwardMacs = 30 * 30 * 32 * 27 + 13 * 13 * 64 * 288 + 2304 * 64 + 64 * 10;
    /// <summary>Multiply-adds of the first layer's forward pass (its input gradient is never needed).</summary>
    const double FirstLayerMacs = 30 * 30 * 32 * 27;
    /// <summary>FLOPs of one training step per image: forward, weight gradients, and input gradients but the first layer's.</summary>
    public const double TrainFlopsPerImage = 2 * (3 * ForwardMacs - FirstLayerMacs);
    public const double EvalFlopsPerImage = 2 * ForwardMacs;

    public static BenchResult Run(int threads, int batchSize, int steps, int rounds, TextWriter log)
    {
        var config = new TrainingConfig { Epochs = 1, BatchSize = batchSize, Threads = threads, Seed = 0 };
        var train = RandomImages(batchSize * steps, seed: 1);
        var warmup = RandomImages(batchSize * Math.Max(3, steps / 5), seed: 2);
        var evaluation = RandomImages(Math.Max(batchSize * steps, 2048), seed: 3);
        var results = new List<BenchRound>();
        using var torch = FrameworkCatalog.Create("torch", config, train);
        using var keras = FrameworkCatalog.Create("keras", config, train);
        using var torchWarm = FrameworkCatalog.Create("torch", config, warmup);
        using var kerasWarm = FrameworkCatalog.Create("keras", config, warmup);
        foreach (var f in new[] { torchWarm, kerasWarm })
        {
            f.TrainEpoch(0, null, CancellationToken.None);
            f.Evaluate(warmup);
        }
        for (int round = 0; round < rounds; round++)
        {
            foreach (var framework in new[] { torch, keras })
            {
                var clock = Stopwatch.StartNew();
                framework.TrainEpoch(round, null, CancellationToken.None);
                double trainRate = train.Count / clock.Elapsed.TotalSeconds;
                clock.Restart();
                framework.Evaluate(evaluation);
                double evalRate = evaluation.Count / clock.Elapsed.TotalSeconds;
                results.Add(new BenchRound(framework.Name, trainRate, evalRate));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round + 1}/{rounds} {framework.Name,-5}: train {trainRate,7:F0} img/s, eval {evalRate,7:F0} img/s"));
            }
        }
        double Median(string name, Func<BenchRound, double> pick)
        {
            var values = results.Where(r => r.Framework == name).Select(pick).Order().ToArray();
            return values.Length % 2 == 1 ? values[values.Length / 2] : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
        }
        return new BenchResult(results, Median("torch", r => r.TrainImagesPerSecond), Median("torch", r => r.EvalImagesPerSecond),
            Median("keras", r => r.TrainImagesPerSecond), Median("keras", r => r.EvalImagesPerSecond));
    }

    public static ImageSet RandomImages(int count, int seed)
    {
        var random = new SplitMix64((ulong)seed);
        var pixels = new byte[count * CifarClasses.PixelsPerImage];
        for (int i = 0; i < pixels.Length; i += 8) BitConverter.TryWriteBytes(pixels.AsSpan(i), random.NextUInt64());
        var labels = new byte[count];
        for (int i = 0; i < count; i++) labels[i] = (byte)random.NextInt(10);
        return new ImageSet(pixels, labels);
    }

    /// <summary>Single-thread GFLOP/s of the engine's GEMM on the study's shapes: (name, m, n, k, A transposed).</summary>
    public static IReadOnlyList<(string Shape, double GflopsPerSecond)> KernelMicroBenchmark(TimeSpan budgetPerShape)
    {
        (string Name, int M, int N, int K, bool Transposed)[] shapes =
        [
            ("conv1 forward   900x32x27 ", 900, 32, 27, false),
            ("conv2 forward   169x64x288", 169, 64, 288, false),
            ("conv2 wgrad     288x64x169", 288, 64, 169, true),
            ("conv2 dinput    169x288x64", 169, 288, 64, false),
            ("fc1 forward     32x64x2304", 32, 64, 2304, false),
        ];
        var results = new List<(string, double)>();
        foreach (var (name, m, n, k, transposed) in shapes)
            results.Add((name, MeasureGemm(m, n, k, transposed, budgetPerShape)));
        return results;
    }

    static unsafe double MeasureGemm(int m, int n, int k, bool transposed, TimeSpan budget)
    {
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (i % 7) * 0.1f;
        for (int i = 0; i < b.Length; i++) b[i] = (i % 5) * 0.1f;
        nint aRow = transposed ? 1 : k, aCol = transposed ? m : 1;
        long calls = 0;
        var clock = Stopwatch.StartNew();
        fixed (float* pa = a, pb = b, pc = c)
        {
            while (clock.Elapsed < budget)
            {
                for (int i = 0; i < 10; i++) Gemm.Multiply(m, n, k, pa, aRow, aCol, pb, n, pc, n, accumulate: transposed);
                calls += 10;
            }
        }
        return calls * 2.0 * m * n * k / clock.Elapsed.TotalSeconds / 1e9;
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
