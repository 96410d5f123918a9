using System.Text.Json;

namespace TwinTrain.Experiment;

/// <summary>The optimizer both frameworks train with.</summary>
public enum TrainingOptimizer { Adam, Sgd }

/// <summary>Where the initial weights come from (see <see cref="TrainingConfig.Init"/>).</summary>
public enum Initialisation { Native, Shared }

/// <summary>Adam's epsilon and its place (see <see cref="TrainingConfig.Epsilon"/>).</summary>
public enum AdamEpsilon { Native, Aligned }

/// <summary>
/// BatchNormalization's momentum and epsilon (see <see cref="TrainingConfig.BatchNorm"/>): each framework's own
/// defaults, or the config's in every framework.
/// </summary>
public enum BatchNormConstants { Native, Aligned }

/// <summary>The spelling of a choice on the command line and in run.json: lower snake case ("adam", "shared").</summary>
public static class Choice
{
    public static string Name<T>(T value) where T : struct, Enum => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    public static IReadOnlyList<string> Names<T>() where T : struct, Enum => [.. Enum.GetValues<T>().Select(Name)];

    /// <summary>The choice spelled <paramref name="text"/>; a one-line error naming <paramref name="option"/> otherwise.</summary>
    public static T Parse<T>(string text, string option) where T : struct, Enum
    {
        foreach (var value in Enum.GetValues<T>())
            if (Name(value) == text) return value;
        throw new ArgumentException($"{option} must be one of {string.Join(", ", Names<T>())} (got '{text}').");
    }
}

/// <summary>Everything that defines a training run; the same config means the same conditions for both frameworks.</summary>
public sealed record TrainingConfig
{
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 0.001;
    public int Seed { get; init; }
    /// <summary>Train on this many images spread over the training set (all when null).</summary>
    public int? LimitTrain { get; init; }
    /// <summary>Evaluate on this many images spread over the test set (all when null).</summary>
    public int? LimitTest { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>Adam (the study's) or SGD.</summary>
    public TrainingOptimizer Optimizer { get; init; } = TrainingOptimizer.Adam;
    /// <summary>SGD's momentum (Keras's and PyTorch's forms are the same update for a constant learning rate).</summary>
    public double Momentum { get; init; }
    /// <summary>
    /// Native: each framework initialises its own way (Keras: Glorot-uniform, PyTorch: Kaiming-uniform), as in the
    /// study. Shared: all start from the same weights (Keras-style Glorot from the seed, converted for PyTorch).
    /// </summary>
    public Initialisation Init { get; init; } = Initialisation.Native;
    /// <summary>
    /// Adam's epsilon. Native: each framework's default (Keras 1e-7 added to √v before the bias correction, PyTorch
    /// 1e-8 added to √v̂ after it). Aligned: 1e-8 after the bias correction in all (PyTorch's).
    /// </summary>
    public AdamEpsilon Epsilon { get; init; } = AdamEpsilon.Native;
    /// <summary>
    /// BatchNormalization's constants. Native: each framework's own, as its users write `BatchNormalization()` and
    /// `nn.BatchNorm2d(c)` (Keras: the config's, by default momentum 0.99 and epsilon 1e-3; PyTorch: momentum 0.1,
    /// i.e. Keras's 0.9, and eps 1e-5). Aligned: the config's momentum and epsilon in every framework.
    /// </summary>
    public BatchNormConstants BatchNorm { get; init; } = BatchNormConstants.Native;

    /// <summary>The architecture: a preset's name or a Keras model config file (see <see cref="Architectures.Architecture"/>).</summary>
    public string Arch { get; init; } = Architectures.Architecture.Default;
    /// <summary>The architecture's <see cref="Architectures.Architecture.Digest"/>, so that runs of different configs never pass as the same conditions.</summary>
    public string? ArchDigest { get; init; }

    /// <summary>PyTorch's default Adam epsilon, which both frameworks use when epsilon is aligned.</summary>
    public const double AlignedEpsilon = 1e-8;

    /// <summary>The differences between the frameworks' defaults this run removed (see <see cref="Alignments"/>).</summary>
    public IReadOnlyList<string> Aligned => [.. Alignments.Factors.Where(f => f.IsAligned(this) && Alignments.Applies(f, this)).Select(f => f.Name)];

    /// <summary>The alignment condition as a name: "none", one factor's name, or "all".</summary>
    public string Condition => Alignments.ConditionName(Aligned, Alignments.Factors.Count(f => Alignments.Applies(f, this)));

    /// <summary>The largest batch: 65,536 CIFAR-10 images are 800 MB of float input alone, more than the whole training set.</summary>
    public const int MaxBatchSize = 65_536;

    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException("--epochs must be at least 1.");
        if (BatchSize is < 1 or > MaxBatchSize) throw new ArgumentException($"--batch-size must be from 1 to {MaxBatchSize:N0} (got {BatchSize:N0}).");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException("--lr must be a positive number.");
        if (LimitTrain is < 1) throw new ArgumentException("--limit-train must be at least 1.");
        if (LimitTest is < 1) throw new ArgumentException("--limit-test must be at least 1.");
        if (Threads < 1) throw new ArgumentException("--threads must be at least 1.");
        if (!Enum.IsDefined(Optimizer)) throw new ArgumentException($"--optimizer must be one of {string.Join(", ", Choice.Names<TrainingOptimizer>())}.");
        if (Momentum is < 0 or >= 1) throw new ArgumentException("--momentum must be in [0, 1).");
        if (Momentum > 0 && Optimizer != TrainingOptimizer.Sgd) throw new ArgumentException("--momentum applies to --optimizer sgd only.");
        if (!Enum.IsDefined(Init)) throw new ArgumentException($"--init must be one of {string.Join(", ", Choice.Names<Initialisation>())}.");
        if (!Enum.IsDefined(BatchNorm)) throw new ArgumentException($"BatchNorm must be one of {string.Join(", ", Choice.Names<BatchNormConstants>())}.");
        if (!Enum.IsDefined(Epsilon)) throw new ArgumentException($"Epsilon must be one of {string.Join(", ", Choice.Names<AdamEpsilon>())}.");
        if (Epsilon == AdamEpsilon.Aligned && Optimizer != TrainingOptimizer.Adam) throw new ArgumentException("--align epsilon applies to --optimizer adam only (SGD has no epsilon).");
    }
}
