using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Comparison;
using TwinTrain.Experiment.Frameworks;

namespace TwinTrain.Experiment.Diff;

/// <summary>Whether a layer's own error is float32 rounding, more than that, or noise around an exact zero.</summary>
public enum DiffVerdict { Within, Beyond, Noise }

/// <summary>
/// One tensor of one layer (its output, the gradient with respect to its input, or a weight's gradient), as relative
/// RMS errors against the float64 reference: <see cref="Chained"/> when the framework runs the whole network itself,
/// <see cref="Isolated"/> when the layer alone is fed the reference's input (forward) and upstream gradient
/// (backward), <see cref="Float32"/> the float32 reference's own isolated error, and the bound the isolated error is judged by.
/// </summary>
public sealed record TensorDiff(string Tensor, int Values, double Chained, double Isolated, double Float32, double Bound, DiffVerdict Verdict);

/// <summary>One layer of one framework: its tensors (output first) and LEMON's jump rate of the chained output error from the layer before.</summary>
public sealed record LayerDiffRow(string Framework, int Index, string Layer, string Class, double JumpRate, IReadOnlyList<TensorDiff> Tensors)
{
    public TensorDiff Output => Tensors[0];
}

/// <summary>The first place a framework's own computation is beyond rounding: in forward order, else where the backward pass meets it first.</summary>
public sealed record Parting(string Framework, string Layer, string Tensor, double Isolated, double Bound, string Pass);

/// <summary>Over the training steps, one layer of one framework: its chained output and input-gradient errors at each step.</summary>
public sealed record LayerDrift(string Framework, string Layer, IReadOnlyList<double> Output, IReadOnlyList<double> InputGradient);

/// <summary>
/// After the training steps, one weight of one framework (moving statistics included) against the float64 reference's;
/// <see cref="Noise"/> where the reference's values are all below float32 rounding of a weight (a bias right before
/// BatchNormalization gets no gradient and stays at 0 in float64, at rounding noise in float32).
/// </summary>
public sealed record WeightDrift(string Framework, string Layer, string Weight, double Error, bool Noise = false);

/// <summary>After the training steps, how far two frameworks' logits on the last batch are apart: ‖a − b‖ / ‖b‖.</summary>
public sealed record LogitsApart(string A, string B, double Error);

/// <summary>What `twintrain diff` found: per layer and framework, the errors; where each framework parts; the drift over the steps.</summary>
public sealed record DiffResult(string Architecture, string Condition, int BatchSize, int Steps, double LearningRate, int Threads,
    IReadOnlyList<string> Frameworks, string Reference, IReadOnlyList<LayerDiffRow> Rows, IReadOnlyList<Parting> Partings,
    IReadOnlyList<LayerDrift> Drift, IReadOnlyList<WeightDrift> Weights, IReadOnlyList<LogitsApart> Apart)
{
    public IEnumerable<LayerDiffRow> RowsOf(string framework) => Rows.Where(r => r.Framework == framework);
    public Parting? PartingOf(string framework) => Partings.FirstOrDefault(p => p.Framework == framework);

    /// <summary>Growth of the chained input-gradient error by this factor (at least 1e-5 after it) at a layer within rounding on its own is worth a sentence.</summary>
    public const double AmplifierGrowth = 100;

    /// <summary>The layer, within rounding on its own, where the chained backward error grows the most, when it grows by <see cref="AmplifierGrowth"/> or more.</summary>
    public (string Layer, double From, double To)? Amplifier(string framework)
    {
        var rows = RowsOf(framework).ToList();
        (string, double, double)? best = null;
        double bestGrowth = AmplifierGrowth;
        for (int l = 0; l + 1 < rows.Count; l++)
        {
            var input = rows[l].Tensors[1];
            // d(loss)/d(this layer's output): the next layer's input gradient, or the loss row's logits gradient.
            double upstream = rows[l + 1].Tensors[1].Chained;
            double growth = input.Chained / Math.Max(upstream, 1e-7);
            if (input.Verdict == DiffVerdict.Within && rows[l].Output.Verdict == DiffVerdict.Within && input.Chained >= 1e-5 && growth >= bestGrowth)
                (best, bestGrowth) = ((rows[l].Layer, upstream, input.Chained), growth);
        }
        return best;
    }

    public string Sentence()
    {
        var parts = new List<string>
        {
            $"From the same weights on one batch of {BatchSize} real training images, each layer of each framework was fed the float64 reference's input and upstream gradient " +
            $"({Reference}) and judged as PyTorch's accuracy checker judges (torch._dynamo.utils.same): its own error must stay within {LayerDiff.Multiplier:0}x " +
            $"({LayerDiff.SmallMultiplier:0}x below {LayerDiff.SmallTensor:N0} values) the float32 reference's own error against float64, plus {LayerDiff.Floor:0E+0}.",
        };
        foreach (string framework in Frameworks)
        {
            parts.Add(PartingOf(framework) is { } p
                ? Invariant.F($"{framework} parts from the reference at {p.Layer} ({p.Pass}, {p.Tensor}: {p.Isolated:0.0E+0} against a bound of {p.Bound:0.0E+0}).")
                : $"{framework} stays within float32 rounding at every layer, forward and backward.");
            if (Amplifier(framework) is { } a)
                parts.Add(Invariant.F($"Chained, {framework}'s input gradient grows from {a.From:0.0E+0} to {a.To:0.0E+0} at {a.Layer}, a layer within rounding on its own: ") +
                    "where its result hangs on which side of a boundary rounding puts a value (near-ties in a max-pooling window, values near 0 at a ReLU), the gradient takes another path.");
        }
        if (Steps > 1)
        {
            foreach (string framework in Frameworks)
            {
                var drift = Drift.Where(d => d.Framework == framework).ToList();
                if (drift.Count == 0) continue;
                var last = drift[^1];
                parts.Add(Invariant.F($"Over {Steps} SGD steps (learning rate {LearningRate}) {framework}'s logits drift from {last.Output[0]:0.0E+0} to {last.Output[^1]:0.0E+0} of the reference's") +
                    (Weights.Where(w => w.Framework == framework && !w.Noise).MaxBy(w => w.Error) is { } worst
                        ? Invariant.F($"; the weight furthest off after them is {worst.Layer}/{worst.Weight} ({worst.Error:0.0E+0}).") : "."));
            }
            if (Apart.Count > 0)
                parts.Add("Training carries each step's rounding into the next weights, in every float32 framework alike; after the steps the frameworks' logits are " +
                    string.Join(", ", Apart.Select(a => Invariant.F($"{a.A} to {a.B} {a.Error:0.0E+0}"))) + " apart from each other.");
        }
        return string.Join(" ", parts);
    }
}

/// <summary>
/// `twintrain diff`: where two or more frameworks part, layer by layer, forward and backward, each against a float64
/// reference on the same real batch from the same weights. Chained, every framework runs its own whole network, so a
/// layer's error includes what it inherits; isolated, every layer gets the reference's input and upstream gradient,
/// so its error is its own (as Audee isolates a layer; LEMON's jump rate shows where the chained error grows). A
/// layer's own error is judged against the float32 reference's own error, as PyTorch's accuracy checker does.
/// </summary>
public static class LayerDiff
{
    /// <summary>PyTorch's accuracy checker (torch/_dynamo/utils.py, same()): RMSE(res, fp64) ≤ 2·RMSE(ref, fp64) + tol/10, 3x for tensors under 1,000 values.</summary>
    public const double Multiplier = 2, SmallMultiplier = 3;
    public const int SmallTensor = 1000;

    /// <summary>
    /// The additive floor, on relative errors (same() uses tol/10 = 1e-5 on absolute ones; activations and gradients here
    /// span orders of magnitude, so the errors are relative to the reference's RMS and the floor is 16 float32 epsilons).
    /// </summary>
    public const double Floor = 1e-6;

    /// <summary>A weight whose float64 values all stay below this has no value float32 could hold apart from rounding noise.</summary>
    public const double NoiseWeight = 1e-6;

    /// <summary>A float32 reference this far off float64 has no correct digit: the exact value is (near) zero, as a bias's gradient right before BatchNormalization.</summary>
    public const double NoiseLevel = 0.1;

    /// <summary>
    /// Runs the diff of <paramref name="frameworks"/> under <paramref name="config"/>'s alignments (dropout left out: each
    /// framework draws its own masks) on the first <paramref name="steps"/> batches of <paramref name="train"/>, spread over it.
    /// </summary>
    public static DiffResult Run(Architecture architecture, TrainingConfig config, IReadOnlyList<string> frameworks, ImageSet train, int steps, TextWriter? log = null) =>
        Run(architecture, config, [.. frameworks.Select(name => FrameworkCatalog.Find(name) ?? throw new ArgumentException($"--frameworks: unknown framework '{name}'."))], train, steps, log);

    /// <summary>The diff of these providers' frameworks (a test's own among them).</summary>
    public static DiffResult Run(Architecture architecture, TrainingConfig config, IReadOnlyList<FrameworkProvider> providers, ImageSet train, int steps, TextWriter? log = null)
    {
        IReadOnlyList<string> frameworks = [.. providers.Select(p => p.Name)];
        int batch = config.BatchSize;
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if ((long)steps * batch > train.Count)
            throw new ArgumentException($"--steps {steps} with --batch-size {batch} needs {(long)steps * batch:N0} training images; the data has {train.Count:N0}.");
        var network = SameMaths.WithoutDropout(architecture);
        using var keras = network.Build(config.Seed);
        float[][] weights = [.. keras.Weights.Select(w => (float[])w.Value.Clone())];
        var referenceConfig = config with { BatchNorm = BatchNormConstants.Aligned };
        // The reference: the first registered framework that computes in float64 (TorchSharp), and it in float32.
        var (referenceProvider, referenceProbe) = FrameworkCatalog.All.Select(p => (p, Probe: p.CreateProbe(referenceConfig, network, weights, batch, ProbePrecision.Float64)))
            .FirstOrDefault(c => c.Probe is not null);
        using var reference = referenceProbe ?? throw new InvalidOperationException("No registered framework computes in float64, so there is no reference to diff against.");
        using var float32 = referenceProvider.CreateProbe(referenceConfig, network, weights, batch, ProbePrecision.Float32)
            ?? throw new InvalidOperationException($"{referenceProvider.Name} has no float32 layer-by-layer mode.");
        var probes = new List<ILayerProbe>();
        try
        {
            foreach (var provider in providers)
                probes.Add(provider.CreateProbe(config, network, weights, batch, ProbePrecision.Float32)
                    ?? throw new ArgumentException($"--frameworks: {provider.Name} has no layer-by-layer mode, so diff cannot look inside it (diff looks inside {string.Join(", ", LayerByLayerFrameworks)})."));
            var images = train.Subset(steps * batch);
            var layers = keras.Layers;
            var (x, labels) = Batch(images, 0, batch);
            log?.WriteLine($"Step 1 of {steps}: the reference in float64, then each framework chained and isolated");
            var truth = Chained(reference, layers.Count, x, labels);
            var own32 = Isolated(float32, truth);
            var drift = frameworks.Select((f, i) => layers.Select(l => (Output: new List<double>(), Input: new List<double>())).ToArray()).ToArray();
            var lastLogits = new double[frameworks.Count][];
            void Record(Pass truthPass, int f, Pass pass)
            {
                lastLogits[f] = pass.Outputs[^1];
                for (int l = 0; l < layers.Count; l++)
                {
                    drift[f][l].Output.Add(RelativeRms(pass.Outputs[l], truthPass.Outputs[l]));
                    drift[f][l].Input.Add(RelativeRms(pass.Gradients[l].Input, truthPass.Gradients[l].Input));
                }
            }
            var rows = new List<LayerDiffRow>();
            var partings = new List<Parting>();
            for (int f = 0; f < frameworks.Count; f++)
            {
                var isolated = Isolated(probes[f], truth);
                var chained = Chained(probes[f], layers.Count, x, labels);
                Record(truth, f, chained);
                var frameworkRows = Rows(frameworks[f], keras, truth, chained, isolated, own32);
                rows.AddRange(frameworkRows);
                if (FirstParting(frameworkRows) is { } parting) partings.Add(parting);
            }
            for (int step = 1; step < steps; step++)
            {
                log?.WriteLine($"Step {step + 1} of {steps}");
                (x, labels) = Batch(images, step, batch);
                reference.Step(config.LearningRate);
                var stepTruth = Chained(reference, layers.Count, x, labels);
                for (int f = 0; f < probes.Count; f++)
                {
                    probes[f].Step(config.LearningRate);
                    Record(stepTruth, f, Chained(probes[f], layers.Count, x, labels));
                }
            }
            var weightDrift = new List<WeightDrift>();
            if (steps > 1)
            {
                reference.Step(config.LearningRate);
                var truthWeights = reference.Weights();
                for (int f = 0; f < probes.Count; f++)
                {
                    probes[f].Step(config.LearningRate);
                    var own = probes[f].Weights();
                    int w = 0;
                    foreach (var layer in layers)
                        foreach (var variable in layer.Weights)
                        {
                            weightDrift.Add(new WeightDrift(frameworks[f], layer.Name, variable.Name, RelativeRms(own[w], truthWeights[w]),
                                Noise: truthWeights[w].All(v => Math.Abs(v) < LayerDiff.NoiseWeight)));
                            w++;
                        }
                }
            }
            var driftRows = frameworks.SelectMany((f, i) => layers.Select((l, j) => new LayerDrift(f, l.Name, drift[i][j].Output, drift[i][j].Input))).ToList();
            // Of the alignments only BatchNormalization's constants reach a forward or backward pass from shared weights.
            string condition = config.BatchNorm == BatchNormConstants.Aligned && Architecture.HasBatchNormalization(config.Arch) ? "bn" : Alignments.None;
            return new DiffResult(architecture.Name, condition, batch, steps, config.LearningRate, config.Threads, frameworks,
                $"{referenceProvider.Name} in float64, with the config's own constants", rows, partings, driftRows, weightDrift,
                [.. frameworks.SelectMany((a, i) => frameworks.Skip(i + 1).Select((b, j) => new LogitsApart(a, b, RelativeRms(lastLogits[i], lastLogits[i + 1 + j]))))]);
        }
        finally
        {
            foreach (var probe in probes) probe.Dispose();
        }
    }

    /// <summary>The offered frameworks diff can look inside.</summary>
    public static IReadOnlyList<string> LayerByLayerFrameworks => [.. FrameworkCatalog.Providers.Where(p => p.LayerByLayer).Select(p => p.Name)];

    /// <summary>One pass through a network: each layer's input and output, the loss, and each layer's gradients (index L−1 from the loss's).</summary>
    sealed record Pass(double[][] Inputs, double[][] Outputs, double Loss, double[] LossGradient, LayerGradients[] Gradients, int[] Labels)
    {
        /// <summary>d(loss)/d(output of layer l): the loss's gradient for the last layer, else the next layer's input gradient.</summary>
        public double[] Upstream(int l) => l == Outputs.Length - 1 ? LossGradient : Gradients[l + 1].Input;
    }

    static Pass Chained(ILayerProbe probe, int layerCount, double[] x, int[] labels)
    {
        var inputs = new double[layerCount][];
        var outputs = new double[layerCount][];
        for (int l = 0; l < layerCount; l++)
        {
            inputs[l] = l == 0 ? x : outputs[l - 1];
            outputs[l] = probe.Forward(l, inputs[l]);
        }
        var (loss, gradient) = probe.Loss(outputs[^1], labels);
        var gradients = new LayerGradients[layerCount];
        for (int l = layerCount - 1; l >= 0; l--)
            gradients[l] = probe.Backward(l, l == layerCount - 1 ? gradient : gradients[l + 1].Input);
        return new Pass(inputs, outputs, loss, gradient, gradients, labels);
    }

    /// <summary>Each layer on the reference's input, backward from the reference's upstream gradient; the loss on the reference's logits.</summary>
    static Pass Isolated(ILayerProbe probe, Pass truth)
    {
        int count = truth.Outputs.Length;
        var outputs = new double[count][];
        var gradients = new LayerGradients[count];
        for (int l = 0; l < count; l++)
        {
            outputs[l] = probe.Forward(l, truth.Inputs[l]);
            gradients[l] = probe.Backward(l, truth.Upstream(l));
        }
        var (loss, lossGradient) = probe.Loss(truth.Outputs[^1], truth.Labels);
        return new Pass(truth.Inputs, outputs, loss, lossGradient, gradients, truth.Labels);
    }

    static List<LayerDiffRow> Rows(string framework, Keras.Sequential keras, Pass truth, Pass chained, Pass isolated, Pass float32)
    {
        var rows = new List<LayerDiffRow>();
        double previous = 0;
        for (int l = 0; l < keras.Layers.Count; l++)
        {
            var layer = keras.Layers[l];
            var tensors = new List<TensorDiff>
            {
                Judge("output", truth.Outputs[l], chained.Outputs[l], isolated.Outputs[l], float32.Outputs[l]),
                Judge("input gradient", truth.Gradients[l].Input, chained.Gradients[l].Input, isolated.Gradients[l].Input, float32.Gradients[l].Input),
            };
            var trainable = layer.TrainableWeights;
            for (int w = 0; w < trainable.Count; w++)
                tensors.Add(Judge(trainable[w].Name + " gradient", truth.Gradients[l].Weights[w], chained.Gradients[l].Weights[w], isolated.Gradients[l].Weights[w], float32.Gradients[l].Weights[w]));
            double error = tensors[0].Chained;
            rows.Add(new LayerDiffRow(framework, l, layer.Name, Keras.Saving.LayerRegistry.ClassName(layer.GetType()), (error - previous) / (previous + 1e-7), tensors));
            previous = error;
        }
        rows.Add(new LayerDiffRow(framework, keras.Layers.Count, "loss", "cross-entropy", double.NaN,
        [
            Judge("loss", [truth.Loss], [chained.Loss], [isolated.Loss], [float32.Loss]),
            Judge("logits gradient", truth.LossGradient, chained.LossGradient, isolated.LossGradient, float32.LossGradient),
        ]));
        return rows;
    }

    static TensorDiff Judge(string name, double[] truth, double[] chained, double[] isolated, double[] float32)
    {
        double own = RelativeRms(isolated, truth), floor = RelativeRms(float32, truth);
        double bound = (truth.Length < SmallTensor ? SmallMultiplier : Multiplier) * floor + Floor;
        var verdict = floor >= NoiseLevel ? DiffVerdict.Noise : own <= bound ? DiffVerdict.Within : DiffVerdict.Beyond;
        return new TensorDiff(name, truth.Length, RelativeRms(chained, truth), own, floor, bound, verdict);
    }

    /// <summary>Forward order first (the first layer whose own output is off); else backward order (from the loss down), gradients.</summary>
    static Parting? FirstParting(List<LayerDiffRow> rows)
    {
        Parting Of(LayerDiffRow row, TensorDiff t, string pass) => new(row.Framework, row.Layer, t.Tensor, t.Isolated, t.Bound, pass);
        foreach (var row in rows)
            if (row.Output.Verdict == DiffVerdict.Beyond) return Of(row, row.Output, "forward");
        for (int r = rows.Count - 1; r >= 0; r--)
            if (rows[r].Tensors.Skip(1).FirstOrDefault(t => t.Verdict == DiffVerdict.Beyond) is { } t) return Of(rows[r], t, "backward");
        return null;
    }

    /// <summary>‖a − r‖ / ‖r‖; 0 when both are zero, infinity when only the reference is.</summary>
    public static double RelativeRms(double[] a, double[] reference)
    {
        if (a.Length != reference.Length) throw new ArgumentException($"{a.Length} values against the reference's {reference.Length}.");
        double squares = 0, norm = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - reference[i];
            squares += d * d;
            norm += reference[i] * reference[i];
        }
        return squares == 0 ? 0 : norm == 0 ? double.PositiveInfinity : Math.Sqrt(squares / norm);
    }

    /// <summary>Batch <paramref name="step"/> as the frameworks' own pixel converter gives it (float32 x / 255, NHWC), as doubles.</summary>
    static (double[] Images, int[] Labels) Batch(ImageSet images, int step, int batch)
    {
        int[] indices = [.. Enumerable.Range(step * batch, batch)];
        var x = new float[batch * images.Shape.Pixels];
        new PixelConverter(ImageLayout.Nhwc).Fill(images, indices, x);
        return ([.. x.Select(v => (double)v)], [.. indices.Select(i => (int)images.Labels[i])]);
    }
}
