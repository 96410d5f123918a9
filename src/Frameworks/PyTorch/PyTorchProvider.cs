using TwinTrain.Data;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;

namespace TwinTrain.Frameworks.PyTorch;

/// <summary>
/// `pytorch`: the real PyTorch (Python) in a worker process. Its model files are PyTorch state_dicts, which the
/// TorchSharp room loads (TrainedModel.Load asks every framework).
/// </summary>
public sealed class PyTorchProvider : FrameworkProvider
{
    public override string Name => PyTorchFramework.FrameworkName;
    public override string Description => "the real PyTorch (Python) in a worker process";

    public override IFramework Create(TrainingConfig config, ImageSet train, Architecture architecture) => new PyTorchFramework(config, train, architecture);
}
