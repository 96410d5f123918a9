using TorchSharp;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Study;
using TwinTrain.Keras;
using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Optimizers;
using TwinTrain.Tests.Shared;
using TwinTrain.Torch;
using static TorchSharp.torch;

namespace TwinTrain.Experiment.Tests;

/// <summary>
/// The same weights and images through both frameworks: the Keras-style engine must compute what libtorch computes
/// (outputs, loss and every parameter's gradient), whatever the thread count and with the SIMD path or without.
/// </summary>
public class DifferentialTests
{
    const int Count = 12;

    static (float[] Nhwc, float[] Nchw, int[] Labels, long[] LongLabels) RealBatch()
    {
        var set = SharedData.Cifar10.Test.Subset(Count);
        int[] indices = [.. Enumerable.Range(0, Count)];
        var nhwc = new float[Count * CifarClasses.PixelsPerImage];
        var nchw = new float[Count * CifarClasses.PixelsPerImage];
        new PixelConverter(ImageLayout.Nhwc).Fill(set, indices, nhwc);
        new PixelConverter(ImageLayout.Nchw).Fill(set, indices, nchw);
        return (nhwc, nchw, set.Labels.Select(l => (int)l).ToArray(), set.Labels.Select(l => (long)l).ToArray());
    }

    static void AssertClose(float[] expected, float[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(expected.Max(v => Math.Abs((double)v)), 1e-12);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]) / scale;
            Assert.True(error <= relative, $"{what}[{i}]: torch {expected[i]}, keras {actual[i]} (relative error {error:E2})");
        }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    public void Should_give_the_same_outputs_loss_and_gradients_as_torchsharp(int threads, bool scalarFallback)
    {
        var (nhwc, nchw, labels, longLabels) = RealBatch();
        using var keras = KerasStudy.CreateModel(seed: 7, learningRate: 0.001);
        keras.Threads = threads;
        using var torchModel = new StudyCnn();
        WeightLayout.KerasToTorch(keras, torchModel);

        float[] probabilities;
        double kerasLoss;
        float[][] kerasGradients;
        using (scalarFallback ? Gemm.ForceScalar() : null)
        {
            // The fallback flag is per thread: with it, run on this thread only.
            if (scalarFallback) keras.Threads = 1;
            probabilities = keras.Predict(nhwc);
            (kerasLoss, kerasGradients) = keras.ComputeGradients(nhwc, labels);
        }

        using var scope = NewDisposeScope();
        var x = tensor(nchw, [Count, 3, 32, 32]);
        var y = tensor(longLabels, [Count]);
        var logits = torchModel.call(x);
        var loss = nn.functional.cross_entropy(logits, y);
        loss.backward();

        AssertClose(nn.functional.softmax(logits, 1).data<float>().ToArray(), probabilities, 1e-5, "probabilities");
        Assert.Equal(loss.item<float>(), kerasLoss, 5);
        var torchGradients = WeightLayout.FromTorchLayout(keras, torchModel.parameters().Select(p => p.grad!.data<float>().ToArray()).ToArray());
        string[] names = ["conv1.kernel", "conv1.bias", "conv2.kernel", "conv2.bias", "fc1.kernel", "fc1.bias", "fc2.kernel", "fc2.bias"];
        for (int i = 0; i < names.Length; i++) AssertClose(torchGradients[i], kerasGradients[i], 1e-4, names[i]);
    }

    [Fact]
    public void Should_convert_weights_both_ways_without_change()
    {
        using var keras = KerasStudy.CreateModel(seed: 3, learningRate: 0.001);
        using var torchModel = new StudyCnn();
        var original = keras.GetWeights();
        WeightLayout.KerasToTorch(keras, torchModel);
        using var other = KerasStudy.CreateModel(seed: 4, learningRate: 0.001);
        WeightLayout.TorchToKeras(torchModel, other);
        var roundTrip = other.GetWeights();
        for (int i = 0; i < original.Length; i++) Assert.Equal(original[i], roundTrip[i]);
    }

    [Fact]
    public void Should_follow_the_same_trajectory_as_torchsharp_under_plain_sgd()
    {
        var set = SharedData.Cifar10.Train.Subset(64 * 5);
        using var keras = KerasStudy.CreateModel(seed: 11, learningRate: 0.05);
        keras.Compile(new SGD(0.05), metrics: ["accuracy"]);
        keras.Threads = 1;
        using var torchModel = new StudyCnn();
        WeightLayout.KerasToTorch(keras, torchModel);
        using var optimizer = optim.SGD(torchModel.parameters(), 0.05);
        var kerasBatches = new Batches(set, 64, ImageLayout.Nhwc);
        var torchBatches = new Batches(set, 64, ImageLayout.Nchw);
        kerasBatches.StartEpoch(0, 0);
        torchBatches.StartEpoch(0, 0);

        var kerasLosses = new List<double>();
        var torchLosses = new List<double>();
        for (int b = 0; b < 5; b++)
        {
            var kb = kerasBatches.Load(b);
            kerasLosses.Add(keras.TrainOnBatch(kb.Inputs, kb.Labels.Select(l => (int)l).ToArray()).Loss);
            var tb = torchBatches.Load(b);
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(torchModel.call(tensor(tb.Inputs, [64, 3, 32, 32])), tensor(tb.Labels, [64]));
            loss.backward();
            optimizer.step();
            torchLosses.Add(loss.item<float>());
        }
        for (int b = 0; b < 5; b++) Assert.True(Math.Abs(kerasLosses[b] - torchLosses[b]) < 1e-4, $"step {b}: keras {kerasLosses[b]}, torch {torchLosses[b]}");

        // The weights moved, and to the same place in both frameworks.
        var kerasWeights = keras.GetWeights();
        var torchWeights = WeightLayout.FromTorchLayout(keras, torchModel.parameters().Select(p => p.data<float>().ToArray()).ToArray());
        using var initial = KerasStudy.CreateModel(seed: 11, learningRate: 0.05);
        Assert.NotEqual(initial.GetWeights()[4], kerasWeights[4]);
        for (int i = 0; i < kerasWeights.Length; i++) AssertClose(torchWeights[i], kerasWeights[i], 1e-4, $"weight {i} after 5 steps");
    }
}
