using System.Globalization;
using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;

namespace TwinTrain.Experiment.Comparison;

/// <summary>The same-mathematics check of one pair of frameworks (A, B): both per-step losses and how far apart they and the final weights ended.</summary>
public sealed record SameMathsResult(int Steps, int BatchSize, double LearningRate, int Threads, string Architecture,
    IReadOnlyList<double> LossesA, IReadOnlyList<double> LossesB, double MaxLossDifference, double MaxWeightDifference, double Seconds,
    double MaxElementDifference = double.NaN, string A = "keras", string B = "torch")
{
    /// <summary>Per step, |A − B| / |B| of the step's mean loss.</summary>
    public IEnumerable<double> RelativeLossDifferences => LossesA.Zip(LossesB, (k, t) => Math.Abs(k - t) / Math.Max(Math.Abs(t), 1e-30));

    /// <summary>The first step's |A − B| / |B|: identical weights and images, so float rounding alone.</summary>
    public double FirstStepDifference => RelativeLossDifferences.FirstOrDefault(double.NaN);

    /// <summary>
    /// One forward pass from identical weights differs by float rounding only, far below this; a different computation
    /// (padding, a normalisation constant, a layout) shows at once, well above it.
    /// </summary>
    public const double FirstStepBound = 1e-5;

    /// <summary>
    /// Training carries each step's rounding into the next weights, so the steps drift apart slowly (measured here: up
    /// to 1e-3 of the loss over 50 steps with BatchNormalization); beyond this bound the drift is no longer rounding.
    /// </summary>
    public const double DriftBound = 1e-2;

    public bool Same => FirstStepDifference < FirstStepBound && MaxLossDifference < DriftBound && MaxWeightDifference < DriftBound;

    public string Sentence() => string.Create(CultureInfo.InvariantCulture,
        $"From the same initial weights, on the same {Steps} batches of {BatchSize} real training images in the same order, with plain SGD (learning rate {LearningRate}) and {Threads} thread(s): ") +
        string.Create(CultureInfo.InvariantCulture, $"{A} and {B}'s first-step losses differ by {FirstStepDifference:0.0E+0} (relative), the per-step losses over all {Steps} steps by at most {MaxLossDifference:0.0E+0}, and the final weights by {MaxWeightDifference:0.0E+0} (‖{A} − {B}‖ / ‖{B}‖ over all weights). ") +
        (Same
            ? string.Create(CultureInfo.InvariantCulture, $"{A} and {B} compute the same thing: the first step shows float rounding alone (each engine sums in its own order: its own kernels, blocking and algorithms such as Winograd), and training carries it forward from step to step, slowly.")
            : string.Create(CultureInfo.InvariantCulture, $"That is more than float rounding explains (a first step within {FirstStepBound:0E+0}, a drift within {DriftBound:0E+0}): {A} and {B} do not compute the same thing for this network, so their results differ for a reason other than their defaults.")) +
        (double.IsNaN(MaxElementDifference) || MaxElementDifference < DriftBound ? ""
            : string.Create(CultureInfo.InvariantCulture, $" Single weights differ more (up to {MaxElementDifference:0.0E+0} of their tensor's largest value): where max pooling meets an exact tie, as in the flat regions of JPEG images, rounding decides which pixel wins and the gradient flows through another one; in a network with BatchNormalization, a bias right before it gets no gradient and holds rounding noise only."));
}

/// <summary>
/// Runs both frameworks step by step from the same weights, with every difference aligned, plain SGD and no dropout
/// (its masks are random in each framework), on real images: what a reader needs to trust that differences in the
/// comparison come from the frameworks' defaults and not from different mathematics.
/// </summary>
public static class SameMaths
{
    public const int Steps = 50, BatchSize = 64;
    const double LearningRate = 0.01;

    /// <summary>Trains each framework once from the same weights and compares every pair (in the given order).</summary>
    public static IReadOnlyList<SameMathsResult> Run(Architecture architecture, ImageSet train, int threads, IReadOnlyList<string>? frameworks = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var withoutDropout = WithoutDropout(architecture);
        var config = new TrainingConfig
        {
            Epochs = 1, BatchSize = BatchSize, LearningRate = LearningRate, Seed = 0, Threads = threads, Optimizer = TrainingOptimizer.Sgd, Init = Initialisation.Shared, BatchNorm = BatchNormConstants.Aligned,
            Arch = withoutDropout.Name, ArchDigest = withoutDropout.Digest,
        };
        var images = train.Subset(Math.Min(train.Count, Steps * BatchSize));
        var losses = new Dictionary<string, double[]>();
        var weights = new Dictionary<string, float[][]>();
        var names = frameworks ?? FrameworkCatalog.DefaultComparison;
        foreach (string name in names)
        {
            using var framework = FrameworkCatalog.Create(name, config, images, withoutDropout);
            var running = new List<Metrics>();
            framework.TrainEpoch(0, (_, metrics) => running.Add(metrics), CancellationToken.None);
            // Each step's own mean loss, from the running means over the samples seen so far.
            losses[name] = [.. running.Select((m, i) => i == 0 ? m.Loss : (m.Loss * m.Samples - running[i - 1].Loss * running[i - 1].Samples) / (m.Samples - running[i - 1].Samples))];
            weights[name] = framework.TrainableWeightsInKerasLayout();
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var pairs = new List<SameMathsResult>();
        for (int i = 0; i < names.Count; i++)
            for (int j = i + 1; j < names.Count; j++)
                pairs.Add(Compare(names[i], names[j], losses, weights, architecture.Name, threads, seconds));
        return pairs;
    }

    static SameMathsResult Compare(string a, string b, Dictionary<string, double[]> losses, Dictionary<string, float[][]> weights, string architecture, int threads, double seconds)
    {
        double lossDifference = losses[a].Zip(losses[b], (k, t) => Math.Abs(k - t) / Math.Max(Math.Abs(t), 1e-30)).DefaultIfEmpty().Max();
        // The weights as one vector (a bias before BatchNormalization gets no gradient and stays at rounding noise, so
        // its own norm is no scale), and single elements against their tensor's largest value.
        double squares = 0, norm = 0, elementDifference = 0;
        for (int w = 0; w < weights[a].Length; w++)
        {
            float[] k = weights[a][w], t = weights[b][w];
            double scale = Math.Max(t.Max(v => Math.Abs((double)v)), 1e-30);
            for (int i = 0; i < k.Length; i++)
            {
                elementDifference = Math.Max(elementDifference, Math.Abs(k[i] - t[i]) / scale);
                squares += (double)(k[i] - t[i]) * (k[i] - t[i]);
                norm += (double)t[i] * t[i];
            }
        }
        double weightDifference = Math.Sqrt(squares / Math.Max(norm, 1e-60));
        return new SameMathsResult(losses[a].Length, BatchSize, LearningRate, threads, architecture, losses[a], losses[b],
            lossDifference, weightDifference, seconds, elementDifference, a, b);
    }

    /// <summary>The architecture with every Dropout's rate set to 0 (the same network otherwise).</summary>
    public static Architecture WithoutDropout(Architecture architecture)
    {
        var config = architecture.Config.DeepClone();
        bool any = false;
        foreach (var layer in config["config"]?["layers"]?.AsArray() ?? [])
            if ((string?)layer?["class_name"] == "Dropout") { layer!["config"]!["rate"] = 0.0; any = true; }
        return any ? Architecture.FromRecorded(architecture.Name + " without dropout", config) : architecture;
    }
}
