using TwinTrain.Experiment.Comparison;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Tests;

/// <summary>What a comparison concludes from its runs: the verdict, time to accuracy, the ablation's effects, the plan and its shards.</summary>
public class ConclusionTests
{
    static readonly DataSummary Data = new("test", "test", false, 0, 1000, 100);

    /// <summary>A completed run whose test accuracy was <paramref name="accuracies"/> after each epoch (1000 images/s of training).</summary>
    internal static RunSummary Run(string framework, int seed, TrainingConfig config, double finalLoss, params double[] accuracies) => new(
        framework, "completed", null, config with { Seed = seed }, MachineInfo.Current, new Dictionary<string, string>(), Data, 10,
        [.. accuracies.Select((a, i) => new EpochRecord(i + 1, i == accuracies.Length - 1 ? finalLoss : 2.0, a, 1.0, a, 1.5, 1000))],
        1.0, accuracies[^1], accuracies.Length, accuracies.Length * 1.5, 1000, 1 << 20, null, DateTime.UtcNow, DateTime.UtcNow,
        Load: new MachineLoad(10, 20, 0.1, 0, 2, 2));

    static ComparedRun Compared(RunSummary run) => new(run.Framework, run.Config.Seed, $"runs/{run.Framework}-seed{run.Config.Seed}", run, null, false, run.Config.Condition);

    static AccuracyConclusion Conclude(double[] keras, double[] torch) => Analysis.Conclude("keras", "torch",
        [.. keras.Select((a, i) => (i, a))], [.. torch.Select((a, i) => (i, a))], marginPoints: 1.0)!;

    [Fact]
    public void Should_call_two_frameworks_equivalent_only_when_the_90_percent_interval_lies_inside_the_margin()
    {
        var equivalent = Conclude([0.700, 0.702, 0.698, 0.701, 0.699], [0.699, 0.702, 0.697, 0.700, 0.699]);
        Assert.True(equivalent.Equivalence!.Equivalent);
        Assert.StartsWith("Equivalent within ±1.0 points", equivalent.Verdict);
        Assert.NotNull(equivalent.Paired);

        var different = Conclude([0.700, 0.702, 0.698], [0.650, 0.651, 0.649]);
        Assert.StartsWith("Different", different.Verdict);
        Assert.Contains("exceeds ±1.0 points", different.Verdict);
        Assert.Null(different.SeedsNeeded);

        // Three seeds spread by about 2 points: no difference and a 4-point one both fit (the situation).
        var unclear = Conclude([0.70, 0.68, 0.72], [0.70, 0.70, 0.69]);
        Assert.StartsWith("Not enough runs to tell", unclear.Verdict);
        Assert.True(unclear.SeedsNeeded > 3);
        Assert.Contains($"about {unclear.SeedsNeeded} seeds", unclear.Verdict);
        Assert.Equal(1, unclear.ABetterSeeds);
    }

    [Fact]
    public void Should_measure_the_training_seconds_until_each_target_accuracy_is_first_reached()
    {
        var config = new TrainingConfig();
        // 1000 training images at 1000 images/s: one second of training per epoch, whatever the evaluation took.
        var runs = new[] { Run("keras", 0, config, 1.0, 0.40, 0.55, 0.58, 0.62), Run("keras", 1, config, 1.0, 0.52, 0.56, 0.59, 0.59) };
        var times = Analysis.TimesToAccuracy("keras", runs, [0.5, 0.6]).ToList();
        Assert.Equal(2, times[0].Reached);
        Assert.Equal(1.5, times[0].MeanSeconds, 12); // epochs 2 and 1
        Assert.Equal(1, times[1].Reached);            // the second run never reached 60%
        Assert.Equal(4, times[1].MeanSeconds, 12);
    }

    [Fact]
    public void Should_give_each_alignment_its_effect_on_the_gap_paired_by_seed()
    {
        var native = new TrainingConfig();
        var init = native with { Init = "shared" };
        var runs = new List<ComparedRun>();
        for (int seed = 0; seed < 3; seed++)
        {
            // Nothing aligned: keras 1 point ahead; init aligned: the gap closes to about 0.
            runs.Add(Compared(Run("keras", seed, native, 1.00, 0.70 + seed * 0.01)));
            runs.Add(Compared(Run("torch", seed, native, 1.10, 0.69 + seed * 0.01)));
            runs.Add(Compared(Run("keras", seed, init, 1.05, 0.695 + seed * 0.01 + (seed == 1 ? 0.001 : 0))));
            runs.Add(Compared(Run("torch", seed, init, 1.05, 0.695 + seed * 0.01)));
        }
        var config = new CompareConfig(native with { Epochs = 1 }, [0, 1, 2], ["keras", "torch"]) { Ablate = true };
        var result = ComparisonResult.Of(config with { Training = native }, MachineInfo.Current, Data, new Dictionary<string, double>(), runs, false, null, null);
        Assert.Equal(["none", "init", "epsilon", "all"], result.Conditions.Select(c => c.Condition));
        var effect = Assert.Single(result.Factors, f => f.Condition == "init");
        Assert.Equal(-0.01 + 0.001 / 3, effect.AccuracyGap, 9);
        Assert.True(effect.OnAccuracyGap!.Upper < 0, "aligning init closed the gap in every seed");
        Assert.Equal(0.1, effect.LossGap, 9); // keras's loss was 0.1 lower, then the same
        Assert.Equal(3, effect.Seeds);
    }

    [Fact]
    public void Should_alternate_the_first_framework_and_give_each_unit_to_exactly_one_shard()
    {
        var config = new CompareConfig(new TrainingConfig(), [0, 1, 2, 3, 4], ["keras", "torch"]) { Ablate = true };
        var plan = config.Plan();
        Assert.Equal(4 * 5 * 2, plan.Count);
        Assert.Equal(["keras", "torch", "torch", "keras"], plan.Take(4).Select(r => r.Framework));
        Assert.Equal("keras-seed3-align-epsilon", plan.Single(r => r.Framework == "keras" && r.Seed == 3 && r.Training.Condition == "epsilon").Name);
        Assert.Equal("torch-seed0", plan[1].Name);
        var shards = Enumerable.Range(1, 3).Select(k => new Shard(k, 3)).ToList();
        foreach (var run in plan) Assert.Single(shards, s => s.Owns(run));
        // Both frameworks of a seed run in one shard, so their timings come from one machine.
        foreach (var unit in plan.GroupBy(r => r.Unit)) Assert.Single(shards, s => unit.All(s.Owns));
    }

    [Theory]
    [InlineData("3/2")]
    [InlineData("0/2")]
    [InlineData("1/0")]
    [InlineData("a/b")]
    [InlineData("2")]
    public void Should_refuse_a_shard_that_is_not_k_of_n(string text) =>
        Assert.Contains("--shard", Assert.Throws<ArgumentException>(() => Shard.Parse(text)).Message);

    [Fact]
    public void Should_refuse_unknown_alignments_and_epsilon_for_sgd()
    {
        Assert.Contains("unknown difference 'seed'", Assert.Throws<ArgumentException>(() => Alignments.Parse("init,seed")).Message);
        Assert.Equal(["init", "epsilon"], Alignments.Parse("all").Select(f => f.Name));
        Assert.Empty(Alignments.Parse("none"));
        var sgd = new TrainingConfig { Optimizer = "sgd", Epsilon = "aligned" };
        Assert.Contains("applies to --optimizer adam", Assert.Throws<ArgumentException>(sgd.Validate).Message);
        Assert.Equal(["none", "init"], Alignments.AblationConditions(sgd with { Epsilon = "native" }).Select(c => Alignments.ConditionName([.. c.Select(f => f.Name)])));
    }

    [Fact]
    public void Should_say_identical_when_every_seed_gives_the_same_accuracy_rather_than_fall_back_to_welch()
    {
        // TorchSharp and the real PyTorch from the same seed can agree to the last bit: a paired difference of 0 with
        // no spread, where a t-test is undefined.
        var identical = Conclude([0.1172, 0.1406, 0.125], [0.1172, 0.1406, 0.125]);
        Assert.True(identical.IdenticalInEverySeed);
        Assert.StartsWith("Identical: the same test accuracy in each of the 3 seeds", identical.Verdict);
        Assert.False(Conclude([0.1172, 0.1406], [0.1172, 0.1407]).IdenticalInEverySeed);
    }

    [Fact]
    public void Should_conclude_every_pair_of_three_frameworks_with_holms_correction()
    {
        var accuracies = new Dictionary<string, List<(int Seed, double Value)>>
        {
            ["keras"] = [(0, 0.700), (1, 0.702), (2, 0.698), (3, 0.701)],
            ["torch"] = [(0, 0.650), (1, 0.655), (2, 0.649), (3, 0.652)],
            ["pytorch"] = [(0, 0.651), (1, 0.653), (2, 0.650), (3, 0.652)],
        };
        var pairs = Analysis.ConcludeAll(["keras", "torch", "pytorch"], accuracies, marginPoints: 1.0);
        Assert.Equal(["keras-torch", "keras-pytorch", "torch-pytorch"], pairs.Select(p => $"{p.A}-{p.B}"));
        Assert.All(pairs, p => Assert.Equal(3, p.Comparisons));
        // Holm (1979): sorted raw p-values times 3, 2, 1, kept monotone.
        var raw = pairs.Select(p => p.Paired!.PValue).ToArray();
        var order = Enumerable.Range(0, 3).OrderBy(i => raw[i]).ToArray();
        double first = Math.Min(1, 3 * raw[order[0]]), second = Math.Max(first, Math.Min(1, 2 * raw[order[1]])), third = Math.Max(second, raw[order[2]]);
        Assert.Equal(first, pairs[order[0]].HolmPValue!.Value, 12);
        Assert.Equal(second, pairs[order[1]].HolmPValue!.Value, 12);
        Assert.Equal(third, pairs[order[2]].HolmPValue!.Value, 12);
        Assert.StartsWith("Different", pairs[0].Verdict);
        Assert.Contains("Holm-adjusted over 3 pairs", pairs[0].Verdict);
        // A single pair is not adjusted.
        var one = Assert.Single(Analysis.ConcludeAll(["keras", "torch"], accuracies, 1.0));
        Assert.Null(one.HolmPValue);
        Assert.Equal(one.Paired!.PValue, one.DifferenceP);
    }

    [Fact]
    public void Should_adjust_p_values_as_holms_step_down_procedure()
    {
        // Holm's worked order: 0.01, 0.04, 0.03, 0.005 -> 0.005*4, 0.01*3, 0.03*2, 0.04*1, kept monotone.
        var adjusted = Statistics.Holm([0.01, 0.04, 0.03, 0.005]);
        Assert.Equal([0.03, 0.06, 0.06, 0.02], adjusted.Select(p => Math.Round(p, 12)));
        Assert.True(double.IsNaN(Statistics.Holm([double.NaN, 0.2])[0]));
        Assert.Equal(0.2, Statistics.Holm([double.NaN, 0.2])[1]);
    }
}
