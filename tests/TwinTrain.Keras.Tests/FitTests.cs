using System.Diagnostics;
using TwinTrain.Tests.Shared;
using Xunit.Abstractions;

namespace TwinTrain.Keras.Tests;

public class FitTests(ITestOutputHelper log)
{
    [Fact]
    public void Should_learn_well_above_chance_in_one_epoch_on_real_cifar10()
    {
        var data = SharedData.Cifar10;
        var (x, y) = StudyModel.Arrays(data.Train.Subset(10_000));
        var (xTest, yTest) = StudyModel.Arrays(data.Test.Subset(1_000));
        using var model = StudyModel.Create(seed: 0);
        model.Compile(optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);

        var clock = Stopwatch.StartNew();
        var history = model.Fit(x, y, epochs: 1, batchSize: 64, validationData: (xTest, yTest), verbose: 0);
        log.WriteLine($"1 epoch of 10,000 images in {clock.Elapsed.TotalSeconds:F2}s; {string.Join(", ", history.Values.Select(v => $"{v.Key} {v.Value[0]:F4}"))}");

        Assert.True(history["val_accuracy"][0] > 0.30, $"test accuracy {history["val_accuracy"][0]:P1}; expected > 30%");
        Assert.True(history["loss"][0] < 2.2, $"training loss {history["loss"][0]:F3}");
        var evaluated = model.Evaluate(xTest, yTest);
        Assert.Equal(history["val_accuracy"][0], evaluated["accuracy"], 10);
    }
}
