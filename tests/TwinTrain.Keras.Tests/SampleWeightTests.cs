using TwinTrain.Keras.Optimizers;

namespace TwinTrain.Keras.Tests;

/// <summary>
/// Fit(sampleWeight:, classWeight:) as Keras 3: each batch's loss is Σ wᵢ·lossᵢ / batch size
/// (keras/src/losses/loss.py, reduce_weighted_values with "sum_over_batch_size"), the loss tracker weighs batches by
/// their size (backend/tensorflow/trainer.py, train_step), the accuracy is Σ wᵢ·correctᵢ / Σ wᵢ, and class_weight
/// becomes a sample weight per label, 1.0 for classes it leaves out (data_adapter_utils.py, class_weight_to_sample_weights).
/// </summary>
public class SampleWeightTests
{
    static Sequential Model(double lr = 0.1)
    {
        var model = StudyModel.Create(seed: 4);
        model.Compile(new SGD(lr), metrics: ["accuracy"]);
        model.Threads = 2;
        return model;
    }

    [Fact]
    public void Should_train_with_unit_weights_exactly_as_without()
    {
        var (x, y) = StudyModel.RandomBatch(24, seed: 1);
        using var plain = Model();
        var a = plain.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0);
        using var weighted = Model();
        var b = weighted.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0, sampleWeight: Enumerable.Repeat(1f, 24).ToArray());
        Assert.Equal(plain.GetWeights().SelectMany(w => w), weighted.GetWeights().SelectMany(w => w));
        Assert.Equal(a["loss"], b["loss"]);
        Assert.Equal(a["accuracy"], b["accuracy"]);
    }

    [Fact]
    public void Should_give_a_sample_of_weight_2_the_pull_of_two_samples_divided_by_the_batch_size()
    {
        var (x, y) = StudyModel.RandomBatch(2, seed: 2);
        int size = x.Length / 2;
        // [a, b] with weights [1, 2] against [a, b, b] unweighted: the same Σ of gradients, divided by 2 instead of 3.
        float[] duplicated = [.. x, .. x[size..]];
        using var weighted = Model();
        var logs = weighted.Fit(x, y, batchSize: 2, shuffle: false, verbose: 0, sampleWeight: [1f, 2f]);
        using var copies = Model();
        var copyLogs = copies.Fit(duplicated, [y[0], y[1], y[1]], batchSize: 3, shuffle: false, verbose: 0);
        using var start = Model();
        var initial = start.GetWeights();
        var moved = weighted.GetWeights();
        var movedByCopies = copies.GetWeights();
        for (int w = 0; w < initial.Length; w++)
            for (int i = 0; i < initial[w].Length; i++)
                Assert.True(Math.Abs((initial[w][i] - moved[w][i]) - 1.5 * (initial[w][i] - movedByCopies[w][i])) < 1e-6 + 1e-3 * Math.Abs(initial[w][i] - moved[w][i]),
                    $"weight {w}[{i}]: moved {initial[w][i] - moved[w][i]}, by copies {initial[w][i] - movedByCopies[w][i]}");
        Assert.Equal(1.5 * copyLogs["loss"][0], logs["loss"][0], 5);
        // Accuracy Σ w·correct / Σ w equals the copies' plain mean.
        Assert.Equal(copyLogs["accuracy"][0], logs["accuracy"][0], 12);
    }

    [Fact]
    public void Should_turn_class_weights_into_the_sample_weights_of_each_label()
    {
        var (x, y) = StudyModel.RandomBatch(32, seed: 3);
        var classWeight = new Dictionary<int, double> { [0] = 3.0, [y[0]] = 0.5 };
        using var byClass = Model();
        var a = byClass.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0, classWeight: classWeight);
        using var bySample = Model();
        var b = bySample.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0,
            sampleWeight: [.. y.Select(label => (float)classWeight.GetValueOrDefault(label, 1.0))]);
        Assert.Equal(byClass.GetWeights().SelectMany(w => w), bySample.GetWeights().SelectMany(w => w));
        Assert.Equal(a["loss"], b["loss"]);
    }

    [Fact]
    public void Should_refuse_weights_keras_refuses()
    {
        var (x, y) = StudyModel.RandomBatch(4, seed: 4);
        using var model = Model();
        Assert.Contains("You cannot `class_weight` and `sample_weight` at the same time",
            Assert.Throws<ArgumentException>(() => model.Fit(x, y, verbose: 0, sampleWeight: [1, 1, 1, 1], classWeight: new Dictionary<int, double> { [0] = 2 })).Message);
        Assert.Contains("sample_weight has 3 values for 4 samples", Assert.Throws<ArgumentException>(() => model.Fit(x, y, verbose: 0, sampleWeight: [1, 1, 1])).Message);
        Assert.Contains("class_weight has class 10", Assert.Throws<ArgumentException>(() => model.Fit(x, y, verbose: 0, classWeight: new Dictionary<int, double> { [10] = 2 })).Message);
        Assert.Contains("sample_weight must hold weights of 0 or more", Assert.Throws<ArgumentException>(() => model.Fit(x, y, verbose: 0, sampleWeight: [1, -1, 1, 1])).Message);
    }
}
