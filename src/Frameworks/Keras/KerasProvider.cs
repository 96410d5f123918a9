using TwinTrain.Data;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Models;

namespace TwinTrain.Frameworks.Keras;

/// <summary>`keras`: the Keras-style framework on TwinTrain's own engine, trained as a Keras user trains.</summary>
public sealed class KerasProvider : FrameworkProvider
{
    public const string FrameworkName = "keras";

    public override string Name => FrameworkName;
    public override string Description => "the Keras-style framework on TwinTrain's pure .NET engine";

    public override IFramework Create(TrainingConfig config, ImageSet train, Architecture architecture) => new KerasFramework(config, train, architecture);

    public override IReadOnlyList<string> ModelFiles => [KerasFramework.ModelFile, KerasFramework.LegacyModelFile];

    public override TrainedModel? TryLoad(string path, Func<Architecture> architecture) =>
        path.EndsWith(".keras", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)
            ? new KerasTrainedModel(path) : null;

    public override bool LayerByLayer => true;

    public override ILayerProbe? CreateProbe(TrainingConfig config, Architecture architecture, IReadOnlyList<float[]> weights, int batch, ProbePrecision precision) =>
        precision == ProbePrecision.Float32 ? new KerasLayerProbe(architecture, weights, batch) : null;
}
