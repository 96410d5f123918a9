using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Diff;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Models;
using TwinTrain.Frameworks.Keras;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Experiment.Tests;

/// <summary>
/// `twintrain diff` on real images: every layer of both frameworks against TorchSharp in float64, judged as PyTorch's
/// accuracy checker judges (torch/_dynamo/utils.py, same(): RMSE(res, fp64) ≤ multiplier · RMSE(ref, fp64) + tol/10).
/// </summary>
public class LayerDiffTests
{
    static TrainingConfig Config(Architecture architecture, BatchNormConstants batchNorm) => new()
    {
        Arch = architecture.Name, ArchDigest = architecture.Digest, Epochs = 1, BatchSize = 32, LearningRate = 0.01, Seed = 0, Threads = 1,
        Optimizer = TrainingOptimizer.Sgd, Init = Initialisation.Shared, BatchNorm = batchNorm,
    };

    static IReadOnlyList<FrameworkProvider> Providers(params string[] names) => [.. names.Select(n => FrameworkCatalog.Find(n)!)];

    [Theory]
    [InlineData("study")]
    [InlineData("cifar-bn")]
    [InlineData("cifar-strided")] // stride-2 convolutions with Keras's asymmetric "same" padding
    public void Should_find_every_layer_within_rounding_when_every_difference_is_aligned(string arch)
    {
        var architecture = Architecture.Resolve(arch);
        var result = LayerDiff.Run(architecture, Config(architecture, BatchNormConstants.Aligned), Providers("keras", "torch"), SharedData.Cifar10.Train, steps: 1);
        Assert.Empty(result.Partings);
        foreach (var row in result.Rows)
            foreach (var tensor in row.Tensors)
                Assert.True(tensor.Verdict != DiffVerdict.Beyond, $"{row.Framework} {row.Layer} {tensor.Tensor}: {tensor.Isolated:E2} > {tensor.Bound:E2}");
        // The errors are rounding, not zero: each engine sums in its own order.
        Assert.All(result.Rows.Where(r => r.Class == "Conv2D"), r => Assert.InRange(r.Output.Isolated, 1e-9, 1e-6));
        Assert.Contains("keras stays within float32 rounding at every layer", result.Sentence());
        // A layer per row, and the loss.
        using var keras = architecture.Build(0);
        Assert.Equal(2 * (keras.Layers.Count + 1), result.Rows.Count);
    }

    [Fact]
    public void Should_name_the_first_BatchNormalization_layer_when_its_constants_are_not_aligned()
    {
        // Native: TorchSharp's network has nn.BatchNorm2d's eps 1e-5 where the config (and the reference) has Keras's 1e-3.
        var architecture = Architecture.Resolve("cifar-bn");
        var result = LayerDiff.Run(architecture, Config(architecture, BatchNormConstants.Native), Providers("keras", "torch"), SharedData.Cifar10.Train, steps: 1);
        Assert.Null(result.PartingOf("keras"));
        var parting = result.PartingOf("torch");
        Assert.NotNull(parting);
        Assert.Equal(("batch_normalization", "output", "forward"), (parting.Layer, parting.Tensor, parting.Pass));
        Assert.True(parting.Isolated > 1e3 * parting.Bound, $"eps 1e-5 against 1e-3 is far beyond rounding: {parting.Isolated:E2}");
        // The layer before it is within rounding on its own, and chained the error appears at it, not before.
        var rows = result.RowsOf("torch").ToList();
        Assert.Equal(DiffVerdict.Within, rows[0].Output.Verdict);
        Assert.True(rows[1].JumpRate > 1e4, $"LEMON's rate at the first BatchNormalization: {rows[1].JumpRate:E2}");
        Assert.Contains("torch parts from the reference at batch_normalization (forward, output", result.Sentence());
        // A bias right before BatchNormalization has no gradient: noise around 0, not judged.
        Assert.Equal(DiffVerdict.Noise, rows[0].Tensors.Single(t => t.Tensor == "bias gradient").Verdict);
    }

    [Theory]
    [InlineData("conv2d_1", false, "forward", "output")]
    [InlineData("dense", true, "backward", "kernel gradient")]
    public void Should_find_a_deliberately_perturbed_layer(string layer, bool backward, string pass, string tensor)
    {
        var architecture = Architecture.Resolve("study");
        var perturbed = new PerturbedProvider(layer, backward);
        var result = LayerDiff.Run(architecture, Config(architecture, BatchNormConstants.Aligned), [FrameworkCatalog.Find("keras")!, perturbed], SharedData.Cifar10.Train, steps: 1);
        Assert.Null(result.PartingOf("keras"));
        var parting = result.PartingOf(perturbed.Name);
        Assert.NotNull(parting);
        Assert.Equal((layer, pass, tensor), (parting.Layer, parting.Pass, parting.Tensor));
        Assert.InRange(parting.Isolated, 0.5e-4, 2e-4); // the 1e-4 put in, not what the layers after it inherit
    }

    [Fact]
    public void Should_follow_the_drift_over_the_steps()
    {
        var architecture = Architecture.Resolve("cifar-bn");
        var result = LayerDiff.Run(architecture, Config(architecture, BatchNormConstants.Aligned), Providers("keras", "torch"), SharedData.Cifar10.Train, steps: 3);
        using var keras = architecture.Build(0);
        Assert.Equal(2 * keras.Layers.Count, result.Drift.Count);
        Assert.All(result.Drift, d => Assert.Equal(3, d.Output.Count));
        // The first step is the layer-by-layer table's chained error.
        var first = result.RowsOf("keras").First();
        Assert.Equal(first.Output.Chained, result.Drift.First(d => d.Framework == "keras").Output[0]);
        // Every weight after the steps, moving statistics included; the biases before BatchNormalization are noise around 0.
        Assert.Equal(2 * keras.Weights.Count, result.Weights.Count);
        Assert.Contains(result.Weights, w => w is { Layer: "batch_normalization", Weight: "moving_mean", Noise: false });
        Assert.Contains(result.Weights, w => w is { Layer: "conv2d", Weight: "bias", Noise: true });
        Assert.All(result.Weights.Where(w => !w.Noise), w => Assert.InRange(w.Error, 0, 0.5));
        Assert.Contains("Over 3 SGD steps", result.Sentence());
        // The outputs: JSON, Markdown and the charts, written whole.
        using var folder = new TempFolder();
        var files = DiffReport.Write(result, folder.Path);
        Assert.All(files, f => Assert.True(new FileInfo(Path.Combine(folder.Path, f)).Length > 0, f));
        Assert.Contains("| keras | batch_normalization | moving_variance |", File.ReadAllText(Path.Combine(folder.Path, DiffReport.Markdown)));
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, DiffReport.Json)))!;
        Assert.Equal(3, (int)json["steps"]!);
        Assert.Equal("bn", (string)json["condition"]!);
    }

    [Fact]
    public void Should_refuse_more_steps_than_the_data_has_batches()
    {
        var architecture = Architecture.Resolve("study");
        var small = SharedData.Cifar10.Train.Subset(40);
        var error = Assert.Throws<ArgumentException>(() => LayerDiff.Run(architecture, Config(architecture, BatchNormConstants.Aligned), Providers("keras"), small, steps: 2));
        Assert.Equal("--steps 2 with --batch-size 32 needs 64 training images; the data has 40.", error.Message);
    }

    [Fact]
    public void Should_measure_relative_errors_as_rms_over_the_reference()
    {
        Assert.Equal(0.5, LayerDiff.RelativeRms([1.5, 0], [1, 0]), 12);
        Assert.Equal(0, LayerDiff.RelativeRms([0, 0], [0, 0]));
        Assert.Equal(double.PositiveInfinity, LayerDiff.RelativeRms([1e-9], [0]));
        Assert.Equal(Math.Sqrt(5.0 / 25), LayerDiff.RelativeRms([3, 5], [4, 3]), 12); // (1² + 2²) / (4² + 3²)
    }

    /// <summary>The Keras-style engine with one layer off by a relative 1e-4: its output, or one weight's gradient.</summary>
    sealed class PerturbedProvider(string layer, bool backward) : FrameworkProvider
    {
        public override string Name => "perturbed";
        public override string Description => "the Keras-style engine with one layer perturbed";
        public override bool LayerByLayer => true;
        public override IFramework Create(TrainingConfig config, ImageSet train, Architecture architecture) => throw new NotSupportedException();

        public override ILayerProbe? CreateProbe(TrainingConfig config, Architecture architecture, IReadOnlyList<float[]> weights, int batch, ProbePrecision precision)
        {
            using var keras = architecture.Build(0);
            int index = keras.Layers.ToList().FindIndex(l => l.Name == layer);
            return new Perturbed(new KerasLayerProbe(architecture, weights, batch), index, backward);
        }
    }

    sealed class Perturbed(ILayerProbe inner, int layer, bool backward) : ILayerProbe
    {
        public double[] Forward(int index, double[] input)
        {
            var output = inner.Forward(index, input);
            return index == layer && !backward ? [.. output.Select(v => v * (1 + 1e-4))] : output;
        }

        public LayerGradients Backward(int index, double[] outputGradient)
        {
            var gradients = inner.Backward(index, outputGradient);
            return index == layer && backward ? gradients with { Weights = [[.. gradients.Weights[0].Select(v => v * (1 + 1e-4))], .. gradients.Weights.Skip(1)] } : gradients;
        }

        public (double Loss, double[] Gradient) Loss(double[] logits, int[] labels) => inner.Loss(logits, labels);
        public void Step(double learningRate) => inner.Step(learningRate);
        public double[][] Weights() => inner.Weights();
        public void Dispose() => inner.Dispose();
    }
}
