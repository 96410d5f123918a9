using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Experiment.Architectures;

/// <summary>One row of the model's layer table.</summary>
public sealed record LayerRow(string Name, string Class, string OutputShape, long Parameters, long TrainableParameters);

/// <summary>
/// What a run or a comparison records of its architecture: the layers and parameter counts, both frameworks' model
/// structures, and every setting the PyTorch side spells differently (for run.json and the report). The defaults
/// the frameworks differ on are not written here as prose: each run records the settings its framework actually ran
/// with, read from the built objects (<see cref="Frameworks.IFramework.Settings"/>).
/// </summary>
public sealed record ModelDescription(
    string Arch, string Digest, bool IsStudy, long Parameters, long TrainableParameters,
    IReadOnlyList<LayerRow> Layers, IReadOnlyList<Translation> Translations, string KerasSummary, string TorchModule)
{
    public static ModelDescription Of(Architecture architecture)
    {
        using var model = architecture.Build(seed: 0);
        var layers = model.Layers.Select(l => new LayerRow(l.Name, LayerRegistry.ClassName(l.GetType()), Layer.Format(l.OutputShape),
            l.ParameterCount, l.TrainableParameterCount)).ToList();
        return new ModelDescription(architecture.Name, architecture.Digest, architecture.IsStudy, architecture.Parameters,
            architecture.TrainableParameters, layers, architecture.TorchProblem is null ? architecture.Torch.Notes : [],
            architecture.Summary, architecture.TorchProblem is { } problem ? $"(no PyTorch translation: {problem})" : architecture.Torch.Repr);
    }
}
