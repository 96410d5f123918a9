using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Comparison;
using TwinTrain.Experiment.Models;

namespace TwinTrain.Experiment.Frameworks;

/// <summary>
/// One framework TwinTrain can train with, as its own project provides it (src/Frameworks/NAME): its command-line
/// name, what it is, how it builds a trainer for an architecture, how it loads its own model files, and the study's
/// code written in it. Adding a framework is one provider, registered once by the program (<see cref="FrameworkCatalog.Register"/>).
/// </summary>
public abstract class FrameworkProvider
{
    /// <summary>The name on the command line (-f, --frameworks) and in every result.</summary>
    public abstract string Name { get; }

    public abstract string Description { get; }

    /// <summary>Offered to train and compare; false for a variant only bench measures (TorchSharp tuned for CPU).</summary>
    public virtual bool Offered => true;

    public abstract IFramework Create(TrainingConfig config, ImageSet train, Architecture architecture);

    /// <summary>Model files a folder of this framework's models holds at its top (run folders from before run.json recorded checkpoints).</summary>
    public virtual IReadOnlyList<string> ModelFiles => [];

    /// <summary>
    /// The model in <paramref name="path"/> when it is a file of this framework's formats (by its extension), else null.
    /// <paramref name="architecture"/> gives the network for formats that do not carry one (state_dicts).
    /// </summary>
    public virtual TrainedModel? TryLoad(string path, Func<Architecture> architecture) => null;

    /// <summary>Whether <see cref="CreateProbe"/> gives a float32 probe, so that `twintrain diff` can look inside this framework.</summary>
    public virtual bool LayerByLayer => false;

    /// <summary>
    /// The network as this framework trains it under <paramref name="config"/>'s alignments, from <paramref name="weights"/>
    /// (every Keras weight, in the Keras model's order), run one layer at a time for `twintrain diff`; null where the
    /// framework has no layer-by-layer mode at that precision.
    /// </summary>
    public virtual ILayerProbe? CreateProbe(TrainingConfig config, Architecture architecture, IReadOnlyList<float[]> weights, int batch, ProbePrecision precision) => null;

    /// <summary>The study's model and training code in this framework, embedded in its assembly as listing/FILE.</summary>
    public Listing? Listing => Listing.Embedded(Name, GetType().Assembly);
}

/// <summary>The frameworks this program can train with, by command-line name, as the program registered them.</summary>
public static class FrameworkCatalog
{
    static readonly Lock Gate = new();
    static FrameworkProvider[] _registered = [];

    /// <summary>Adds providers (a name registered again is kept as it was, so that every entry point may register).</summary>
    public static void Register(params FrameworkProvider[] providers)
    {
        lock (Gate)
            _registered = [.. _registered, .. providers.Where(p => _registered.All(r => r.Name != p.Name)).DistinctBy(p => p.Name)];
    }

    /// <summary>The frameworks offered to train and compare, in the order registered.</summary>
    public static IReadOnlyList<FrameworkProvider> Providers => [.. _registered.Where(p => p.Offered)];

    /// <summary>Every registered provider, the variants only bench measures included.</summary>
    public static IReadOnlyList<FrameworkProvider> All => _registered;

    public static IReadOnlyList<string> Names => [.. Providers.Select(p => p.Name)];

    /// <summary>The frameworks a comparison runs when none are named (the study's pair).</summary>
    public static IReadOnlyList<string> DefaultComparison { get; } = ["keras", "torch"];

    public static FrameworkProvider? Find(string name) => _registered.FirstOrDefault(p => p.Name == name);

    /// <summary>The framework <paramref name="name"/> set up to train <paramref name="architecture"/> (default: config.Arch).</summary>
    public static IFramework Create(string name, TrainingConfig config, ImageSet train, Architecture? architecture = null)
    {
        var provider = Find(name) ?? throw new ArgumentException(_registered.Length == 0
            ? $"Unknown framework '{name}': this program registered no frameworks."
            : $"Unknown framework '{name}'; expected one of: {string.Join(", ", Names)}.");
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
