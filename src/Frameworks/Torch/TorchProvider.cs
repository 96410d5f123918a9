using TwinTrain.Data;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Models;

namespace TwinTrain.Frameworks.Torch;

/// <summary>`torch`: TorchSharp (libtorch) with the study's hand-written loop; its files are .dat modules and PyTorch state_dicts.</summary>
public sealed class TorchProvider(TorchCpuTuning tuning) : FrameworkProvider
{
    public const string FrameworkName = "torch", TunedName = "torch-tuned";

    public TorchProvider() : this(TorchCpuTuning.Plain) { }

    /// <summary>TorchSharp tuned for CPU, which only bench measures (train and compare keep the study's plain loop).</summary>
    public static TorchProvider Tuned { get; } = new(TorchCpuTuning.CpuTuned);

    public override string Name => tuning == TorchCpuTuning.Plain ? FrameworkName : TunedName;
    public override string Description => tuning == TorchCpuTuning.Plain ? "TorchSharp (libtorch) with the study's hand-written loop" : "TorchSharp with CPU tuning";
    public override bool Offered => tuning == TorchCpuTuning.Plain;

    public override IFramework Create(TrainingConfig config, ImageSet train, Architecture architecture) => new TorchFramework(config, train, architecture, tuning);

    public override IReadOnlyList<string> ModelFiles => tuning == TorchCpuTuning.Plain ? [TorchFramework.WeightsFile] : [];

    public override TrainedModel? TryLoad(string path, Func<Architecture> architecture)
    {
        if (!Offered) return null;
        if (path.EndsWith(".dat", StringComparison.OrdinalIgnoreCase)) return new TorchTrainedModel(path, architecture());
        if (path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase))
            return new TorchTrainedModel(path, architecture(), pytorchFormat: true);
        return null;
    }

    public override bool LayerByLayer => Offered;

    public override ILayerProbe? CreateProbe(TrainingConfig config, Architecture architecture, IReadOnlyList<float[]> weights, int batch, ProbePrecision precision)
    {
        if (!Offered) return null;
        TorchSharp.torch.set_num_threads(config.Threads);
        return new TorchLayerProbe(architecture.AsPyTorchUsersTrainIt(config), weights, batch, precision);
    }
}
