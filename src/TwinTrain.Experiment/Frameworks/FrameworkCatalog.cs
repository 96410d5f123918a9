using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks.Workers;

namespace TwinTrain.Experiment.Frameworks;

/// <summary>
/// One framework TwinTrain can train with: its command-line name, what it is, and how it builds a trainer for an
/// architecture. Adding a framework is adding one provider to <see cref="FrameworkCatalog.Providers"/>.
/// </summary>
public sealed record FrameworkProvider(string Name, string Description, Func<TrainingConfig, ImageSet, Architecture, IFramework> Create);

/// <summary>The frameworks TwinTrain can train with, by command-line name.</summary>
public static class FrameworkCatalog
{
    public static IReadOnlyList<FrameworkProvider> Providers { get; } =
    [
        new("keras", "the Keras-style framework on TwinTrain's pure .NET engine", (c, t, a) => new KerasFramework(c, t, a)),
        new("torch", "TorchSharp (libtorch) with the study's hand-written loop", (c, t, a) => new TorchFramework(c, t, a)),
        new(PyTorchFramework.FrameworkName, "the real PyTorch (Python) in a worker process", (c, t, a) => new PyTorchFramework(c, t, a)),
    ];

    /// <summary>Not offered to train or compare (they keep the study's loop): bench measures it against the plain loop.</summary>
    static readonly FrameworkProvider TorchTuned = new("torch-tuned", "TorchSharp with CPU tuning", (c, t, a) => new TorchFramework(c, t, a, TorchCpuTuning.CpuTuned));

    public static IReadOnlyList<string> Names { get; } = [.. Providers.Select(p => p.Name)];

    /// <summary>The frameworks a comparison runs when none are named (the study's pair).</summary>
    public static IReadOnlyList<string> DefaultComparison { get; } = ["keras", "torch"];

    /// <summary>The framework <paramref name="name"/> set up to train <paramref name="architecture"/> (default: config.Arch).</summary>
    public static IFramework Create(string name, TrainingConfig config, ImageSet train, Architecture? architecture = null)
    {
        var provider = Providers.FirstOrDefault(p => p.Name == name) ?? (name == TorchTuned.Name ? TorchTuned : null)
            ?? throw new ArgumentException($"Unknown framework '{name}'; expected one of: {string.Join(", ", Names)}.");
        return provider.Create(config, train, architecture ?? Architecture.Resolve(config.Arch));
    }

    /// <summary>--frameworks LIST: known names, no repeats, at least two (a comparison needs a pair); one-line errors.</summary>
    public static IReadOnlyList<string> ParseList(string text, int minimum = 2)
    {
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (string name in names)
            if (!Names.Contains(name)) throw new ArgumentException($"--frameworks: unknown framework '{name}' (known: {string.Join(", ", Names)}).");
        if (names.Distinct().Count() != names.Length) throw new ArgumentException($"--frameworks lists a framework twice ({text}).");
        if (names.Length < minimum) throw new ArgumentException($"--frameworks needs at least {minimum} frameworks (got {names.Length}: {text}).");
        return names;
    }
}
