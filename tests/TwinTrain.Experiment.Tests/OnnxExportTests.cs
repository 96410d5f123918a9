using TwinTrain.Experiment.Export;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Models;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Experiment.Tests;

/// <summary>Each framework's trained model, exported to ONNX and run by ONNX Runtime, gives the framework's own outputs.</summary>
public class OnnxExportTests
{
    [Theory]
    [InlineData("keras", "probabilities")]
    [InlineData("torch", "logits")]
    public void Should_match_the_framework_on_1000_shared_test_images(string name, string outputName)
    {
        using var folder = new TempFolder();
        var config = new TrainingConfig { Seed = 2, Threads = 2, BatchSize = 64 };
        using (var framework = FrameworkCatalog.Create(name, config, SharedData.Cifar10.Train.Subset(640)))
        {
            framework.TrainEpoch(0, null, CancellationToken.None);
            framework.SaveCheckpoint(folder.Path);
        }
        using var model = TrainedModel.Load(folder.Path);
        byte[] onnx = OnnxExport.Export(model);
        using var runtime = new OnnxModel(onnx, "test");
        Assert.Equal(model.Layout, runtime.Layout);
        Assert.Equal(outputName, runtime.OutputName);

        var test = SharedData.Cifar10.Test.Subset(1000);
        var expected = model.Outputs(test);
        var actual = runtime.Run(test);
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst < 1e-4, $"largest difference {worst:E2}");
        for (int n = 0; n < test.Count; n++)
            Assert.Equal(ClassScores.ArgMax(expected.AsSpan(n * 10, 10)), ClassScores.ArgMax(actual.AsSpan(n * 10, 10)));
    }
}
