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
    /// <summary>
    /// --shard K/N, or --shard slurm: K and N from a Slurm job array's variables (K = SLURM_ARRAY_TASK_ID −
    /// SLURM_ARRAY_TASK_MIN + 1, N = SLURM_ARRAY_TASK_COUNT; a requeued task keeps its array's variables), for an array
    /// of consecutive indices such as --array=1-10 or 0-9. A variable that is missing or not a number, or an array with
    /// steps or gaps, is one error naming it.
    /// </summary>
    public static Shard Parse(string text, Func<string, string?>? environment = null)
    {
        if (text == "slurm") return FromSlurm(environment ?? Environment.GetEnvironmentVariable);
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int k) || !int.TryParse(parts[1], out int n) || n < 1 || k < 1 || k > n)
            throw new ArgumentException($"--shard: '{text}' is not K/N with 1 ≤ K ≤ N (e.g. 1/4), or slurm.");
        return new Shard(k, n);
    }

    static Shard FromSlurm(Func<string, string?> environment)
    {
        int Variable(string name, bool required = true)
        {
            string? value = environment(name);
            if (value is null)
                return required ? throw new ArgumentException($"--shard slurm: ${name} is not set; run it as a task of a Slurm job array (sbatch --array=1-N), or give --shard K/N.") : -1;
            return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number)
                ? number : throw new ArgumentException($"--shard slurm: ${name} is '{value}', not a whole number.");
        }
        int id = Variable("SLURM_ARRAY_TASK_ID"), min = Variable("SLURM_ARRAY_TASK_MIN"), max = Variable("SLURM_ARRAY_TASK_MAX"), count = Variable("SLURM_ARRAY_TASK_COUNT");
        int step = Variable("SLURM_ARRAY_TASK_STEP", required: false);
        if ((step != -1 && step != 1) || max - min + 1 != count || id < min || id > max)
            throw new ArgumentException($"--shard slurm: the array's indices are {min}..{max} in {count} task(s){(step > 1 ? $" by steps of {step}" : "")}, not consecutive; submit with --array=1-N (or 0-N-1), or give --shard K/N.");
        return new Shard(id - min + 1, count);
    }

    public bool Owns(PlannedRun run) => run.Unit % Count == Index - 1;

    public override string ToString() => $"{Index}/{Count}";
}
