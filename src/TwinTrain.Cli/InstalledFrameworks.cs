using TwinTrain.Experiment.Frameworks;
using TwinTrain.Frameworks.Keras;
using TwinTrain.Frameworks.PyTorch;
using TwinTrain.Frameworks.Torch;

namespace TwinTrain.Cli;

/// <summary>The frameworks `twintrain` offers, in the order its help and results list them: add a framework's provider here.</summary>
public static class InstalledFrameworks
{
    public static void Register() =>
        FrameworkCatalog.Register(new KerasProvider(), new TorchProvider(), new PyTorchProvider(), TorchProvider.Tuned);
}
