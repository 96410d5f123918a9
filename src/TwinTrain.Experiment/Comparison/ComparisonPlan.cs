using System.Globalization;
using System.Text.Json.Serialization;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Experiment.Comparison;

/// <summary>
/// What to compare: one training configuration, run for every framework and seed, under one alignment condition
/// (the config's own) or, with <see cref="Ablate"/>, under each: nothing aligned, each factor alone, all together.
/// Written as comparison.json, so that shards and `report` know what belongs in the folder.
/// </summary>
public sealed record CompareConfig(TrainingConfig Training, IReadOnlyList<int> Seeds, IReadOnlyList<string> Frameworks, bool Force = false)
{
    public const string File = "comparison.json";

    public bool Ablate { get; init; }

    /// <summary>The equivalence margin in accuracy points (percentage points).</summary>
    public double MarginPoints { get; init; } = 1.0;

    /// <summary>Test accuracies (fractions) whose time to reach is reported.</summary>
    public IReadOnlyList<double> Targets { get; init; } = [0.5, 0.6];

    /// <summary>Every condition's training config (seed 0); the first is the one the headline figures are of.</summary>
    [JsonIgnore]
    public IReadOnlyList<TrainingConfig> Conditions => Ablate
        ? [.. Alignments.AblationConditions(Training).Select(factors => Alignments.With(Training, factors))]
        : [Training];

    /// <summary>
    /// Every run, in order. Units are (condition, seed): a unit's frameworks run one after the other on one machine so
    /// their timings compare, and which goes first alternates from seed to seed so that drift favours neither.
    /// </summary>
    public IReadOnlyList<PlannedRun> Plan()
    {
        var runs = new List<PlannedRun>();
        int unit = 0;
        foreach (var condition in Conditions)
        {
            for (int s = 0; s < Seeds.Count; s++, unit++)
            {
                var order = s % 2 == 0 ? Frameworks : Frameworks.Reverse();
                foreach (string framework in order)
                    runs.Add(new PlannedRun(framework, Seeds[s], condition with { Seed = Seeds[s] }, unit));
            }
        }
        return runs;
    }

    /// <summary>The same runs (whatever the report settings and --force): what shards of one comparison must share.</summary>
    public IReadOnlyList<string> DifferencesFrom(CompareConfig other)
    {
        var differences = new List<string>();
        if (Training != other.Training) differences.Add(F($"training {Describe(Training, other.Training)}"));
        if (!Seeds.SequenceEqual(other.Seeds)) differences.Add(F($"seeds {string.Join(",", Seeds)} vs {string.Join(",", other.Seeds)}"));
        if (!Frameworks.SequenceEqual(other.Frameworks)) differences.Add(F($"frameworks {string.Join(",", Frameworks)} vs {string.Join(",", other.Frameworks)}"));
        if (Ablate != other.Ablate) differences.Add(F($"ablate {Ablate} vs {other.Ablate}"));
        return differences;
    }

    /// <summary>The members two training configs differ in, as "epochs 10 vs 2, lr 0.001 vs 0.01".</summary>
    public static string Describe(TrainingConfig a, TrainingConfig b)
    {
        var left = System.Text.Json.JsonSerializer.SerializeToNode(a, Reporting.RunFiles.Json)!.AsObject();
        var right = System.Text.Json.JsonSerializer.SerializeToNode(b, Reporting.RunFiles.Json)!.AsObject();
        var names = left.Select(p => p.Key).Union(right.Select(p => p.Key));
        return string.Join(", ", names.Where(n => left[n]?.ToJsonString() != right[n]?.ToJsonString())
            .Select(n => $"{n} {left[n]?.ToJsonString() ?? "none"} vs {right[n]?.ToJsonString() ?? "none"}"));
    }
}

/// <summary>One run of a comparison: which framework, seed and condition, and its unit (condition, seed) for sharding.</summary>
public sealed record PlannedRun(string Framework, int Seed, TrainingConfig Training, int Unit)
{
    /// <summary>Its folder under runs/: framework-seedN, with -align-CONDITION when something is aligned.</summary>
    public string Name => FolderName(Framework, Seed, Training.Condition);

    public static string FolderName(string framework, int seed, string condition) =>
        condition == Alignments.None ? $"{framework}-seed{seed}" : $"{framework}-seed{seed}-align-{condition}";
}

/// <summary>--shard K/N: this process trains the units u with u mod N = K − 1.</summary>
public sealed record Shard(int Index, int Count)
{
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int k) || !int.TryParse(parts[1], out int n) || n < 1 || k < 1 || k > n)
            throw new ArgumentException($"--shard: '{text}' is not K/N with 1 ≤ K ≤ N (e.g. 1/4).");
        return new Shard(k, n);
    }

    public bool Owns(PlannedRun run) => run.Unit % Count == Index - 1;

    public override string ToString() => $"{Index}/{Count}";
}
