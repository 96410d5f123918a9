namespace TwinTrain.Experiment;

/// <summary>
/// One default the two frameworks differ on, and the real setting of both frameworks that removes the difference
/// (never a patch of their results): `--align NAME` applies it, `compare --ablate` measures what it changes.
/// </summary>
public sealed record AlignmentFactor(string Name, string Description, Func<TrainingConfig, bool> IsAligned, Func<TrainingConfig, TrainingConfig> Apply);

/// <summary>The differences that can be aligned, and the conditions of an ablation: none, each alone, all together.</summary>
public static class Alignments
{
    public static IReadOnlyList<AlignmentFactor> Factors { get; } =
    [
        new("init", "the same initial weights (Keras's GlorotUniform from the seed, converted for PyTorch)",
            c => c.Init == Initialisation.Shared, c => c with { Init = Initialisation.Shared }),
        new("epsilon", "the same Adam epsilon (1e-8) in the same place (added to √v̂ after the bias correction, as PyTorch)",
            c => c.Epsilon == AdamEpsilon.Aligned, c => c with { Epsilon = AdamEpsilon.Aligned }),
        new("bn", "the config's BatchNormalization momentum and epsilon in every framework (a PyTorch user's nn.BatchNorm2d(c) has momentum 0.1 and eps 1e-5)",
            c => c.BatchNorm == BatchNormConstants.Aligned, c => c with { BatchNorm = BatchNormConstants.Aligned }),
    ];

    public const string None = "none", All = "all";

    /// <summary>The factors of --align LIST ("init,epsilon", "all", "none"), in their canonical order; one-line error on an unknown name.</summary>
    public static IReadOnlyList<AlignmentFactor> Parse(string list)
    {
        var names = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Contains(All)) return Factors;
        foreach (string name in names)
            if (name != None && Factors.All(f => f.Name != name))
                throw new ArgumentException($"--align: unknown difference '{name}' (expected {string.Join(", ", Factors.Select(f => f.Name))}, {All} or {None}).");
        return [.. Factors.Where(f => names.Contains(f.Name))];
    }

    /// <summary>The config with exactly <paramref name="factors"/> aligned (each other factor at its native default).</summary>
    public static TrainingConfig With(TrainingConfig config, IEnumerable<AlignmentFactor> factors)
    {
        var native = config with { Init = Initialisation.Native, Epsilon = AdamEpsilon.Native, BatchNorm = BatchNormConstants.Native };
        return factors.Where(f => Applies(f, native)).Aggregate(native, (c, f) => f.Apply(c));
    }

    /// <summary>An ablation's conditions: nothing aligned, each factor alone, then all together.</summary>
    public static IReadOnlyList<IReadOnlyList<AlignmentFactor>> AblationConditions(TrainingConfig config)
    {
        var applicable = Factors.Where(f => Applies(f, config)).ToList();
        var conditions = new List<IReadOnlyList<AlignmentFactor>> { Array.Empty<AlignmentFactor>() };
        conditions.AddRange(applicable.Select(f => (IReadOnlyList<AlignmentFactor>)[f]));
        if (applicable.Count > 1) conditions.Add(applicable);
        return conditions;
    }

    /// <summary>Whether the factor means anything for this config (epsilon does not for SGD, bn not for a network without BatchNormalization).</summary>
    public static bool Applies(AlignmentFactor factor, TrainingConfig config) => factor.Name switch
    {
        "epsilon" => config.Optimizer == TrainingOptimizer.Adam,
        "bn" => Architectures.Architecture.HasBatchNormalization(config.Arch),
        _ => true,
    };

    /// <summary>"none", the factors joined by "+", or "all" when every one of the <paramref name="applicable"/> factors (more than one) is aligned.</summary>
    public static string ConditionName(IReadOnlyList<string> aligned, int applicable) =>
        aligned.Count == 0 ? None : aligned.Count == applicable && applicable > 1 ? All : string.Join("+", aligned);
}
