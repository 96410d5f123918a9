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

    // One test per verdict the README's "What the verdicts mean" lists, each with its sentence.

    [Fact]
    public void Should_call_two_frameworks_equivalent_only_when_the_90_percent_interval_lies_inside_the_margin()
    {
        var equivalent = Conclude([0.700, 0.702, 0.698, 0.701, 0.699], [0.699, 0.702, 0.697, 0.700, 0.699]);
        Assert.True(equivalent.Equivalence!.Equivalent);
        Assert.StartsWith("Equivalent within ±1.0 points: the 90% interval [", equivalent.Verdict);
        Assert.NotNull(equivalent.Paired);
    }

    [Fact]
    public void Should_call_a_difference_beyond_the_margin_different_and_say_it_is_beyond()
    {
        var different = Conclude([0.700, 0.702, 0.698], [0.650, 0.651, 0.649]);
        Assert.StartsWith("Different: +5.00 points, the 95% interval [", different.Verdict);
        Assert.EndsWith("and the difference is beyond ±1.0 points.", different.Verdict);
        Assert.Null(different.SeedsNeeded);
    }

    [Fact]
    public void Should_call_a_significant_difference_that_straddles_the_margin_different_without_calling_it_large()
    {
        // Paired differences of 0.5 to 1.5 points: clearly not zero, but the 90% interval holds the margin itself.
        var different = Conclude([0.705, 0.715, 0.710, 0.708, 0.712], [0.700, 0.700, 0.700, 0.700, 0.700]);
        Assert.StartsWith("Different: +1.00 points", different.Verdict);
        Assert.EndsWith("whether it is beyond ±1.0 points is not shown.", different.Verdict);
    }

    [Fact]
    public void Should_say_neither_different_nor_equivalent_in_one_sentence_when_the_difference_is_beyond_the_margin()
    {
        // The case: +1.81 points over 3 seeds, p about 0.12: beyond the margin, so never equivalent; more
        // seeds would decide whether it is real. Never "not enough runs" beside "no number of seeds would do".
        var unclear = Conclude([0.7300, 0.7050, 0.71930], [0.7000, 0.7000, 0.7000]);
        Assert.StartsWith("No significant difference (p = 0.1", unclear.Verdict);
        Assert.Contains("and not equivalent within ±1.0 points (TOST p = 0.", unclear.Verdict);
        Assert.Contains("the observed +1.81 points is at or beyond the margin, so no number of seeds would show equivalence; about ", unclear.Verdict);
        Assert.Contains($"about {unclear.SeedsForDifference} seeds would show whether it is real", unclear.Verdict);
        Assert.True(unclear.SeedsForDifference > 3);
        Assert.DoesNotContain("Not enough runs", unclear.Verdict);
    }

    [Fact]
    public void Should_say_how_many_seeds_each_decision_needs_when_a_small_difference_is_too_uncertain()
    {
        // Three seeds spread by about 2 points around +0.33: within the margin, but no difference and a 4-point one both fit.
        var unclear = Conclude([0.70, 0.68, 0.72], [0.70, 0.70, 0.69]);
        Assert.StartsWith("No significant difference (p = ", unclear.Verdict);
        Assert.Contains("the observed +0.33 points is within the margin but the interval is too wide", unclear.Verdict);
        Assert.True(unclear.SeedsNeeded > 3);
        Assert.Contains($"about {unclear.SeedsNeeded} seeds would show equivalence, and about {unclear.SeedsForDifference} a difference of this size", unclear.Verdict);
        Assert.Equal(1, unclear.ABetterSeeds);
    }

    [Fact]
    public void Should_leave_out_the_bootstrap_interval_of_a_few_pairs_and_give_superiority_with_its_counts()
    {
        var three = Conclude([0.7300, 0.7050, 0.71930], [0.7000, 0.7000, 0.7000]);
        Assert.False(three.Bootstrap!.Reliable);
        Assert.Equal(10.0, three.Bootstrap.DistinctResamples); // C(5, 3): the ten multisets of three pairs
        string line = SummaryTable.BootstrapLine(three.Bootstrap, "[x, y]");
        Assert.StartsWith("bootstrap interval left out: 3 pairs have only 10 distinct resamples", line);
        Assert.DoesNotContain("[x, y]", line);
        Assert.Equal("P(keras run beats torch run) = 1.00, from 3 × 3 runs; keras better in 3 of 3 seeds", SummaryTable.SuperiorityLine(three));

        double[] a = [.. Enumerable.Range(0, 12).Select(i => 0.70 + 0.001 * i)], b = [.. Enumerable.Range(0, 12).Select(i => 0.69 + 0.0015 * i)];
        var twelve = Conclude(a, b);
        Assert.True(twelve.Bootstrap!.Reliable);
        Assert.StartsWith("bootstrap 95% CI of the mean difference [x, y] (10,000 resamples of the 12 pairs)", SummaryTable.BootstrapLine(twelve.Bootstrap, "[x, y]"));
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
        var init = native with { Init = Initialisation.Shared };
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
        Assert.Equal(["init", "epsilon", "bn"], Alignments.Parse("all").Select(f => f.Name));
        Assert.Empty(Alignments.Parse("none"));
        var sgd = new TrainingConfig { Optimizer = TrainingOptimizer.Sgd, Epsilon = AdamEpsilon.Aligned };
        Assert.Contains("applies to --optimizer adam", Assert.Throws<ArgumentException>(sgd.Validate).Message);
        var sgdNative = sgd with { Epsilon = AdamEpsilon.Native };
        Assert.Equal(["none", "init"], Alignments.AblationConditions(sgdNative).Select(c => Alignments.With(sgdNative, c).Condition));
        // BatchNormalization's constants matter only where there is a BatchNormalization layer; "all" is every factor that applies.
        var study = new TrainingConfig();
        Assert.Equal(["none", "init", "epsilon", "all"], Alignments.AblationConditions(study).Select(c => Alignments.With(study, c).Condition));
        var bn = new TrainingConfig { Arch = "cifar-bn" };
        Assert.Equal(["none", "init", "epsilon", "bn", "all"], Alignments.AblationConditions(bn).Select(c => Alignments.With(bn, c).Condition));
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
