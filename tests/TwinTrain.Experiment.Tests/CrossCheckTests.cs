using TwinTrain.Data;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Experiment.Tests;

/// <summary>
/// The cross-check that the two frameworks compute the same thing end to end: shared initial weights, one thread,
/// the same sample order and plain SGD give the same losses step by step on real data.
/// </summary>
public class CrossCheckTests
{
    [Fact]
    public void Should_give_the_same_per_step_losses_over_the_first_20_steps_with_shared_init_and_sgd() =>
        AssertSameLosses(new TrainingConfig { BatchSize = 64, LearningRate = 0.05, Seed = 4, Threads = 1, Optimizer = TrainingOptimizer.Sgd, Init = Initialisation.Shared }, 2e-3);

    /// <summary>--align all is a real setting of both frameworks: with it, Adam's steps agree too (its ε in PyTorch's place in both).</summary>
    [Fact]
    public void Should_give_the_same_per_step_losses_under_adam_with_every_difference_aligned()
    {
        var aligned = Alignments.With(new TrainingConfig { BatchSize = 64, LearningRate = 0.001, Seed = 4, Threads = 1 }, Alignments.Parse("all"));
        Assert.Equal("all", aligned.Condition);
        AssertSameLosses(aligned, 2e-3);
    }

    static void AssertSameLosses(TrainingConfig config, double tolerance)
    {
        var train = SharedData.Cifar10.Train.Subset(20 * 64);
        var losses = new Dictionary<string, double[]>();
        foreach (string name in new[] { "torch", "keras" })
        {
            using var framework = FrameworkCatalog.Create(name, config, train);
            var running = new List<Metrics>();
            framework.TrainEpoch(0, (_, metrics) => running.Add(metrics), CancellationToken.None);
            Assert.Equal(20, running.Count);
            // Each step's own mean loss, from the running means over the samples seen so far.
            losses[name] = running.Select((m, i) => i == 0 ? m.Loss : (m.Loss * m.Samples - running[i - 1].Loss * running[i - 1].Samples) / (m.Samples - running[i - 1].Samples)).ToArray();
        }
        for (int step = 0; step < 20; step++)
        {
            double torch = losses["torch"][step], keras = losses["keras"][step];
            Assert.True(Math.Abs(torch - keras) < tolerance * Math.Max(1, torch), $"step {step + 1}: torch {torch:F6}, keras {keras:F6}");
        }
        Assert.True(losses["keras"][^1] < losses["keras"][0], "20 steps should lower the loss");
    }

    [Fact]
    public void Should_start_both_frameworks_from_the_same_weights_with_shared_init()
    {
        var config = new TrainingConfig { Seed = 9, Threads = 1, Init = Initialisation.Shared };
        var test = SharedData.Cifar10.Test.Subset(200);
        using var torch = FrameworkCatalog.Create("torch", config, test);
        using var keras = FrameworkCatalog.Create("keras", config, test);
        var torchMetrics = torch.Evaluate(test);
        var kerasMetrics = keras.Evaluate(test);
        Assert.Equal(torchMetrics.Loss, kerasMetrics.Loss, 4);
        Assert.Equal(torchMetrics.Accuracy, kerasMetrics.Accuracy);

        using var nativeTorch = FrameworkCatalog.Create("torch", config with { Init = Initialisation.Native }, test);
        Assert.NotEqual(torchMetrics.Loss, nativeTorch.Evaluate(test).Loss, 4);
    }
}
