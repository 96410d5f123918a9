using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;

namespace TwinTrain.Experiment.Frameworks;

/// <summary>The frameworks TwinTrain can train with, by command-line name.</summary>
public static class FrameworkCatalog
{
    public static IReadOnlyList<string> Names { get; } = ["torch", "keras"];

    /// <summary>The framework <paramref name="name"/> set up to train <paramref name="architecture"/> (default: config.Arch).</summary>
    public static IFramework Create(string name, TrainingConfig config, ImageSet train, Architecture? architecture = null) => name switch
    {
        "torch" => new TorchFramework(config, train, architecture ?? Architecture.Resolve(config.Arch)),
        // Not offered to train or compare (they keep the study's loop): bench measures it against the plain loop.
        "torch-tuned" => new TorchFramework(config, train, architecture ?? Architecture.Resolve(config.Arch), TorchCpuTuning.CpuTuned),
        "keras" => new KerasFramework(config, train, architecture ?? Architecture.Resolve(config.Arch)),
        _ => throw new ArgumentException($"Unknown framework '{name}'; expected one of: {string.Join(", ", Names)}."),
    };
}
