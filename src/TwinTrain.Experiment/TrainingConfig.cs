namespace TwinTrain.Experiment;

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
    /// <summary>"adam" (the study's) or "sgd".</summary>
    public string Optimizer { get; init; } = "adam";
    /// <summary>SGD's momentum (Keras's and PyTorch's forms are the same update for a constant learning rate).</summary>
    public double Momentum { get; init; }
    /// <summary>
    /// "native": each framework initialises its own way (Keras: Glorot-uniform, PyTorch: Kaiming-uniform), as in the
    /// study. "shared": both start from the same weights (Keras-style Glorot from the seed, converted for PyTorch).
    /// </summary>
    public string Init { get; init; } = "native";
    /// <summary>
    /// Adam's epsilon. "native": each framework's default (Keras 1e-7 added to √v before the bias correction, PyTorch
    /// 1e-8 added to √v̂ after it). "aligned": 1e-8 after the bias correction in both (PyTorch's).
    /// </summary>
    public string Epsilon { get; init; } = "native";

    /// <summary>The architecture: a preset's name or a Keras model config file (see <see cref="Architectures.Architecture"/>).</summary>
    public string Arch { get; init; } = Architectures.Architecture.Default;
    /// <summary>The architecture's <see cref="Architectures.Architecture.Digest"/>, so that runs of different configs never pass as the same conditions.</summary>
    public string? ArchDigest { get; init; }

    public static IReadOnlyList<string> Optimizers { get; } = ["adam", "sgd"];
    public static IReadOnlyList<string> Inits { get; } = ["native", "shared"];

    /// <summary>PyTorch's default Adam epsilon, which both frameworks use when epsilon is aligned.</summary>
    public const double AlignedEpsilon = 1e-8;

    /// <summary>The differences between the frameworks' defaults this run removed (see <see cref="Alignments"/>).</summary>
    public IReadOnlyList<string> Aligned => [.. Alignments.Factors.Where(f => f.IsAligned(this)).Select(f => f.Name)];

    /// <summary>The alignment condition as a name: "none", one factor's name, or "all".</summary>
    public string Condition => Alignments.ConditionName(Aligned);

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
        if (!Optimizers.Contains(Optimizer)) throw new ArgumentException($"--optimizer must be one of {string.Join(", ", Optimizers)}.");
        if (Momentum is < 0 or >= 1) throw new ArgumentException("--momentum must be in [0, 1).");
        if (Momentum > 0 && Optimizer != "sgd") throw new ArgumentException("--momentum applies to --optimizer sgd only.");
        if (!Inits.Contains(Init)) throw new ArgumentException($"--init must be one of {string.Join(", ", Inits)}.");
        if (Epsilon is not ("native" or "aligned")) throw new ArgumentException("Epsilon must be native or aligned.");
        if (Epsilon == "aligned" && Optimizer != "adam") throw new ArgumentException("--align epsilon applies to --optimizer adam only (SGD has no epsilon).");
    }
}
