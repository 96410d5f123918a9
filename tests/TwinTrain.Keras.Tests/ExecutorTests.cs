using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Optimizers;

namespace TwinTrain.Keras.Tests;

/// <summary>
/// The executor's plan as a whole: batch-wide reductions across workers (BatchNormalization), ReLU layers fused into
/// the layer before, and the gradients of whole models against finite differences of their training-mode loss.
/// </summary>
public class ExecutorTests
{
    static Sequential BatchNormalized(int seed, int threads, bool separateRelu = true)
    {
        Layer[] layers = separateRelu
            ? [new Conv2D(16, (3, 3), padding: "same"), new BatchNormalization(), new ReLU(), new MaxPooling2D((2, 2)),
               new Conv2D(16, (3, 3), padding: "same"), new BatchNormalization(), new ReLU(), new GlobalAveragePooling2D(), new Dense(3, activation: "softmax")]
            : [new Conv2D(16, (3, 3), padding: "same"), new BatchNormalization(), new ActivationLayer("relu"), new MaxPooling2D((2, 2)),
               new Conv2D(16, (3, 3), padding: "same"), new BatchNormalization(), new ActivationLayer("relu"), new GlobalAveragePooling2D(), new Dense(3, activation: "softmax")];
        var model = new Sequential(seed, [6, 6, 3], layers);
        model.Compile(new SGD(0.1), metrics: ["accuracy"]);
        model.Threads = threads;
        return model;
    }

    static (float[] X, int[] Y) Batch(int count, int size, int seed)
    {
        var random = new Random(seed);
        return (Enumerable.Range(0, count * size).Select(_ => (float)random.NextDouble()).ToArray(), Enumerable.Range(0, count).Select(i => i % 3).ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Should_match_finite_differences_of_the_training_loss_through_batch_normalization(int threads)
    {
        using var model = BatchNormalized(seed: 3, threads);
        var (x, y) = Batch(6, 6 * 6 * 3, seed: 4);
        var (_, gradients) = model.ComputeGradients(x, y);
        var random = new Random(5);
        const float eps = 2e-3f;
        for (int w = 0; w < model.TrainableWeights.Count; w++)
        {
            var values = model.TrainableWeights[w].Value;
            for (int probe = 0; probe < 6; probe++)
            {
                int i = random.Next(values.Length);
                float saved = values[i];
                values[i] = saved + eps;
                model.SetWeights(model.GetWeights());
                double plus = model.ComputeGradients(x, y).Loss;
                values[i] = saved - eps;
                model.SetWeights(model.GetWeights());
                double minus = model.ComputeGradients(x, y).Loss;
                values[i] = saved;
                model.SetWeights(model.GetWeights());
                double numeric = (plus - minus) / (2 * eps);
                Assert.True(Math.Abs(numeric - gradients[w][i]) <= 2e-3 + 2e-2 * Math.Abs(numeric),
                    $"{model.TrainableWeights[w].Name} (weight {w})[{i}]: analytic {gradients[w][i]}, numeric {numeric}");
            }
        }
    }

    [Fact]
    public void Should_normalise_with_the_whole_batch_whatever_the_thread_count()
    {
        var (x, y) = Batch(10, 6 * 6 * 3, seed: 7);
        using var one = BatchNormalized(seed: 1, threads: 1);
        using var two = BatchNormalized(seed: 1, threads: 2);
        var (lossOne, gradientsOne) = one.ComputeGradients(x, y);
        var (lossTwo, gradientsTwo) = two.ComputeGradients(x, y);
        // Per-worker statistics would give a different loss; whole-batch ones agree up to summation order.
        Assert.Equal(lossOne, lossTwo, 5);
        for (int i = 0; i < gradientsOne.Length; i++)
        {
            double scale = gradientsOne[i].Max(Math.Abs) + 1e-9;
            for (int j = 0; j < gradientsOne[i].Length; j++) Assert.True(Math.Abs(gradientsOne[i][j] - gradientsTwo[i][j]) <= 1e-4 * scale + 1e-7, $"gradient {i}[{j}]: {gradientsOne[i][j]} vs {gradientsTwo[i][j]}");
        }
        // The moving statistics moved, and alike.
        var bn = (BatchNormalization)one.Layers[1];
        Assert.NotEqual(0f, bn.MovingMean.Value[0]);
        Assert.Equal(bn.MovingMean.Value[0], ((BatchNormalization)two.Layers[1]).MovingMean.Value[0], 5);
    }

    [Fact]
    public void Should_train_a_batch_normalized_model_bitwise_alike_for_the_same_seed_and_threads()
    {
        var (x, y) = Batch(40, 6 * 6 * 3, seed: 8);
        float[][] Train()
        {
            using var model = BatchNormalized(seed: 2, threads: 2);
            model.Fit(x, y, epochs: 2, batchSize: 16, seed: 3, verbose: 0);
            return model.GetWeights();
        }
        var first = Train();
        var second = Train();
        for (int i = 0; i < first.Length; i++) Assert.Equal(first[i], second[i]);
    }

    [Fact]
    public void Should_compute_a_fused_relu_layer_exactly_as_the_unfused_activation_layer()
    {
        // ReLU() layers are fused into the BatchNormalization before them; Activation("relu") is not a ReLU layer... both are ActivationLayers:
        // compare a model whose ReLUs are fused against the same model with the fusion's effect checked by the layer itself.
        var (x, y) = Batch(8, 6 * 6 * 3, seed: 9);
        using var fused = BatchNormalized(seed: 4, threads: 1);
        using var plain = new Sequential(4, [6, 6, 3],
        [
            new Conv2D(16, (3, 3), padding: "same"), new BatchNormalization(), new MaxPooling2D((1, 1)), new ReLU(), new MaxPooling2D((2, 2)),
            new Conv2D(16, (3, 3), padding: "same"), new BatchNormalization(), new MaxPooling2D((1, 1)), new ReLU(), new GlobalAveragePooling2D(), new Dense(3, activation: "softmax"),
        ]);
        plain.Compile(new SGD(0.1), metrics: ["accuracy"]);
        plain.Threads = 1;
        plain.SetWeights(fused.GetWeights());
        var (lossFused, gradientsFused) = fused.ComputeGradients(x, y);
        var (lossPlain, gradientsPlain) = plain.ComputeGradients(x, y);
        Assert.Equal(lossPlain, lossFused, 6);
        for (int i = 0; i < gradientsFused.Length; i++)
            for (int j = 0; j < gradientsFused[i].Length; j++) Assert.Equal(gradientsPlain[i][j], gradientsFused[i][j], 5);
    }

    [Fact]
    public void Should_mark_only_the_gradients_of_convolutions_without_max_pooling_after_them_dense()
    {
        // Behind BatchNormalization (and its fused ReLU) the gradient is dense; behind max pooling it is mostly zeros.
        using var normalized = BatchNormalized(seed: 5, threads: 1);
        var (x, y) = Batch(4, 6 * 6 * 3, seed: 6);
        normalized.ComputeGradients(x, y);
        Assert.All(normalized.Layers.OfType<Conv2D>(), conv => Assert.True(conv.DenseGradient));
        using var pooled = new Sequential(5, [6, 6, 3], [new Conv2D(16, (3, 3), activation: "relu"), new MaxPooling2D((2, 2)),
            new Conv2D(16, (2, 2)), new ReLU(), new MaxPooling2D((1, 1)), new Flatten(), new Dense(3, activation: "softmax")]);
        pooled.Compile(new SGD(0.1));
        pooled.ComputeGradients(x, y);
        var convs = pooled.Layers.OfType<Conv2D>().ToArray();
        Assert.False(convs[0].DenseGradient);
        Assert.False(convs[1].DenseGradient); // its ReLU layer is fused into it, and max pooling follows that
    }

    [Fact]
    public void Should_time_every_layer_of_a_training_step_and_train_as_plain_steps_do()
    {
        // Profiling only watches: the weights after profiled steps equal those after the same plain steps, bit for bit.
        using var profiled = BatchNormalized(seed: 3, threads: 2);
        using var plain = BatchNormalized(seed: 3, threads: 2);
        var (x, y) = Batch(16, 6 * 6 * 3, seed: 4);
        var profile = profiled.ProfileTraining(x, y, batchSize: 8, steps: 4);
        var (layers, stepSeconds) = (profile.Layers, profile.StepSeconds);
        for (int step = 0; step < 4; step++)
            plain.TrainOnBatch(x.AsSpan(step % 2 * 8 * 108, 8 * 108), y.AsSpan(step % 2 * 8, 8));
        Assert.Equal(plain.GetWeights().SelectMany(w => w), profiled.GetWeights().SelectMany(w => w));

        Assert.Equal(profiled.Layers.Count, layers.Count);
        Assert.All(layers.Where(l => l.Description.StartsWith("ReLU", StringComparison.Ordinal)), relu => Assert.Equal(0, relu.ForwardSeconds + relu.BackwardSeconds));
        Assert.All(layers.Where(l => !l.Description.StartsWith("ReLU", StringComparison.Ordinal)), layer => Assert.True(layer.ForwardSeconds > 0, layer.Description));
        Assert.True(layers.Sum(l => l.ForwardSeconds + l.BackwardSeconds) < stepSeconds);
        // The parts outside the layers: each was timed, and with the layers they make up no more than the step.
        Assert.All(new[] { profile.LossSeconds, profile.OptimizerSeconds, profile.RefreshSeconds, profile.CombineSeconds }, part => Assert.True(part > 0));
        Assert.True(profile.WaitSeconds >= 0, $"the parts exceed the step by {-profile.WaitSeconds:E2} s");
        // Direct products: the first conv, 6x6x16 outputs of 3x3x3 taps, 8 images; it computes no input gradient.
        var first = layers[0];
        Assert.Equal("Conv2D 3x3/1 3→16, same", first.Description);
        Assert.Equal(2.0 * 6 * 6 * 16 * 27 * 8, first.ForwardFlops);
        Assert.Equal(first.ForwardFlops, first.BackwardFlops);
        Assert.Equal(2 * layers[4].ForwardFlops, layers[4].BackwardFlops); // the second conv also gives its input gradient
        Assert.Equal(0, layers[1].ForwardFlops); // BatchNormalization: no dense products
    }
}
