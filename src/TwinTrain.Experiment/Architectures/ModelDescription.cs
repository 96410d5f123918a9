using System.Globalization;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Experiment.Architectures;

/// <summary>One row of the model's layer table.</summary>
public sealed record LayerRow(string Name, string Class, string OutputShape, long Parameters, long TrainableParameters);

/// <summary>
/// What a run or a comparison records of its architecture: the layers and parameter counts, both frameworks' model
/// structures, and every setting translated between them or left to defaults that differ (for run.json and the report).
/// </summary>
public sealed record ModelDescription(
    string Arch, string Digest, bool IsStudy, long Parameters, long TrainableParameters,
    IReadOnlyList<LayerRow> Layers, IReadOnlyList<Translation> Translations, string KerasSummary, string TorchModule)
{
    public static ModelDescription Of(Architecture architecture, TrainingConfig config)
    {
        using var model = architecture.Build(seed: 0);
        var layers = model.Layers.Select(l => new LayerRow(l.Name, LayerRegistry.ClassName(l.GetType()), Layer.Format(l.OutputShape),
            l.ParameterCount, l.TrainableParameterCount)).ToList();
        return new ModelDescription(architecture.Name, architecture.Digest, architecture.IsStudy, architecture.Parameters,
            architecture.TrainableParameters, layers, [.. DefaultsThatDiffer(config), .. architecture.Torch.Notes], architecture.Summary,
            architecture.Torch.Repr);
    }

    /// <summary>What neither the config nor the command line states and the two frameworks do differently (from their sources).</summary>
    static IEnumerable<Translation> DefaultsThatDiffer(TrainingConfig config)
    {
        const string All = "(model)";
        if (config.Init == "native")
        {
            yield return new Translation(All, "kernel initialisation", "GlorotUniform: U(±√(6 / (fan_in + fan_out)))",
                "kaiming_uniform_(a=√5): U(±√(1 / fan_in))", "--init native keeps each framework's own; --init shared starts both from Keras's.");
            yield return new Translation(All, "bias initialisation", "Zeros", "U(±1 / √fan_in)", "--init shared starts both from Keras's.");
        }
        else
        {
            yield return new Translation(All, "initialisation", "GlorotUniform kernels, zero biases (from the seed)", "the same values, converted",
                "--init shared: both frameworks start from the same weights.");
        }
        if (config.Optimizer == "adam" && config.Epsilon == "aligned")
        {
            yield return new Translation(All, "Adam epsilon", "1e-08, added to √v̂ after bias correction (aligned)",
                "1e-08, added to √v̂ after bias correction", "--align epsilon: PyTorch's value in PyTorch's place in both.");
        }
        else if (config.Optimizer == "adam")
        {
            yield return new Translation(All, "Adam epsilon", "1e-07, added to √v before bias correction",
                "1e-08, added to √v̂ after bias correction", "each framework's default; they differ where ε matters (tiny v); --align epsilon removes it.");
        }
        yield return new Translation(All, "loss input", "softmax probabilities, fused with the cross-entropy into log-softmax",
            "logits into CrossEntropyLoss (log-softmax)", "the same loss, computed the stable way in both.");
        yield return new Translation(All, "data layout", "NHWC (channels last)", "NCHW (channels first)", "weights are converted between the layouts.");
        yield return new Translation(All, "threads", string.Create(CultureInfo.InvariantCulture, $"{config.Threads} worker threads"),
            string.Create(CultureInfo.InvariantCulture, $"torch.set_num_threads({config.Threads})"), "the same number of cores for both.");
    }
}
