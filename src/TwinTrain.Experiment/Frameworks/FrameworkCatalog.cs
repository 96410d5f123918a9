using TwinTrain.Data;

namespace TwinTrain.Experiment.Frameworks;

/// <summary>The frameworks TwinTrain can train with, by command-line name.</summary>
public static class FrameworkCatalog
{
    public static IReadOnlyList<string> Names { get; } = ["torch", "keras"];

    public static IFramework Create(string name, TrainingConfig config, ImageSet train) => name switch
    {
        "torch" => new TorchFramework(config, train),
        "keras" => new KerasFramework(config, train),
        _ => throw new ArgumentException($"Unknown framework '{name}'; expected one of: {string.Join(", ", Names)}."),
    };
}
