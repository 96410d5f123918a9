using System.Text.Json.Nodes;
using TorchSharp;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Frameworks.Keras.Study;
using TwinTrain.Keras;
using TwinTrain.Keras.Optimizers;
using TwinTrain.Tests.Shared;
using TwinTrain.Frameworks.Torch;
using TwinTrain.Frameworks.Torch.Study;
using static TorchSharp.torch;

namespace TwinTrain.Experiment.Tests;

/// <summary>
/// The same weights and images through both frameworks: the Keras-style engine must compute what libtorch computes
/// (outputs, loss and every parameter's gradient), whatever the thread count and with the SIMD path or without,
/// for the study's CNN and for the BatchNormalization preset.
/// </summary>
public class DifferentialTests
{
    const int Count = 12;

    static (float[] Nhwc, float[] Nchw, int[] Labels, long[] LongLabels) RealBatch(int count = Count)
    {
        var set = SharedData.Cifar10.Test.Subset(count);
        int[] indices = [.. Enumerable.Range(0, count)];
        var nhwc = new float[count * CifarClasses.PixelsPerImage];
        var nchw = new float[count * CifarClasses.PixelsPerImage];
        new PixelConverter(ImageLayout.Nhwc).Fill(set, indices, nhwc);
        new PixelConverter(ImageLayout.Nchw).Fill(set, indices, nchw);
        return (nhwc, nchw, set.Labels.Select(l => (int)l).ToArray(), set.Labels.Select(l => (long)l).ToArray());
    }

    internal static void AssertClose(float[] expected, float[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(expected.Max(v => Math.Abs((double)v)), 1e-12);
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]) / scale;
            Assert.True(error <= relative, $"{what}[{i}]: torch {expected[i]}, keras {actual[i]} (relative error {error:E2})");
        }
    }

    /// <summary>cifar-bn without its dropout: masks are random in each framework, everything else must agree.</summary>
    internal static Architecture CifarBnWithoutDropout()
    {
        var config = Architecture.Resolve("cifar-bn").Config.DeepClone();
        foreach (var layer in config["config"]!["layers"]!.AsArray())
            if ((string?)layer!["class_name"] == "Dropout") layer["config"]!["rate"] = 0.0;
        return Architecture.FromRecorded("cifar-bn without dropout", config);
    }

    public static TheoryData<string, int, bool> Cases => new()
    {
        { "study", 1, false }, { "study", 2, false }, { "study", 2, true },
        { "cifar-bn", 1, false }, { "cifar-bn", 2, false }, { "cifar-bn", 2, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Should_give_the_same_outputs_loss_and_gradients_as_torchsharp(string arch, int threads, bool scalarFallback)
    {
        var architecture = arch == "study" ? Architecture.Study : CifarBnWithoutDropout();
        var (nhwc, nchw, labels, longLabels) = RealBatch(arch == "study" ? Count : 32);
        using var keras = architecture.Build(seed: 7);
        keras.Compile(new Adam(), metrics: ["accuracy"]);
        keras.Threads = threads;
        using var torchModel = architecture.Torch.CreateModule();
        TorchWeights.KerasToTorch(keras, torchModel, architecture.Torch);

        float[] probabilities;
        double kerasLoss;
        float[][] kerasGradients;
        using (scalarFallback ? KerasEngine.ForceScalar() : null)
        {
            // The fallback flag is per thread: with it, run on this thread only.
            if (scalarFallback) keras.Threads = 1;
            // Training mode, as torch's module is after construction: batch statistics for BatchNormalization.
            (kerasLoss, kerasGradients) = keras.ComputeGradients(nhwc, labels);
            probabilities = keras.Predict(nhwc);
        }

        using var scope = NewDisposeScope();
        var x = tensor(nchw, [labels.Length, 3, 32, 32]);
        var y = tensor(longLabels, [labels.Length]);
        torchModel.train();
        var logits = torchModel.call(x);
        var loss = nn.functional.cross_entropy(logits, y);
        loss.backward();
        Assert.Equal(loss.item<float>(), kerasLoss, 4);
        var torchGradients = WeightLayout.FromTorchLayout(keras, architecture.Torch, torchModel.parameters().Select(p => p.grad!.data<float>().ToArray()).ToArray());
        // The scalar fallback's forward convolutions go through im2col instead of Winograd, so they round differently;
        // the JPEG images' flat regions give exact ties in max pooling, which that rounding breaks another way, and the
        // gradient then flows through another pixel (measured: up to 8e-3 on real images, 3e-6 on random ones).
        double tolerance = scalarFallback && arch != "study" ? 1e-2 : 1e-4;
        var owners = keras.Layers.SelectMany((layer, l) => layer.TrainableWeights.Select(w => (Layer: l, Weight: w))).ToArray();
        for (int i = 0; i < torchGradients.Length; i++)
        {
            string what = $"{keras.Layers[owners[i].Layer].Name}.{owners[i].Weight.Name}";
            bool beforeNormalization = owners[i].Weight.Name == "bias" && owners[i].Layer + 1 < keras.Layers.Count
                && keras.Layers[owners[i].Layer + 1] is TwinTrain.Keras.Layers.BatchNormalization;
            if (!beforeNormalization)
            {
                AssertClose(torchGradients[i], kerasGradients[i], tolerance, what);
                continue;
            }
            // A bias right before a BatchNormalization has no effect on the loss: its gradient is zero but for rounding, in both.
            double kernelScale = torchGradients[i - 1].Max(v => Math.Abs((double)v));
            Assert.True(torchGradients[i].Max(v => Math.Abs((double)v)) < 1e-3 * kernelScale, $"{what}: torch's gradient should vanish");
            Assert.True(kerasGradients[i].Max(v => Math.Abs((double)v)) < 1e-3 * kernelScale, $"{what}: keras's gradient should vanish");
        }

        // Inference: the moving statistics, which the training step updated in both frameworks (torch with n/(n-1)
        // on the variance), so the Keras model's own statistics go to torch for this comparison.
        TorchWeights.KerasToTorch(keras, torchModel, architecture.Torch);
        torchModel.eval();
        using var noGrad = no_grad();
        AssertClose(nn.functional.softmax(torchModel.call(x), 1).data<float>().ToArray(), probabilities, 1e-5, "probabilities");
    }

    [Fact]
    public void Should_compute_with_the_config_built_torch_model_of_the_study_what_the_hand_written_StudyCnn_computes()
    {
        var (_, nchw, _, _) = RealBatch();
        using var keras = KerasStudy.CreateModel(seed: 5, learningRate: 0.001);
        using var handWritten = new StudyCnn();
        using var fromConfig = Architecture.Study.Torch.CreateModule();
        TorchWeights.KerasToTorch(keras, handWritten, Architecture.Study.Torch);
        TorchWeights.KerasToTorch(keras, fromConfig, Architecture.Study.Torch);
        Assert.Equal(handWritten.state_dict().Keys.Order(), fromConfig.state_dict().Keys.Order());
        using var noGrad = no_grad();
        var x = tensor(nchw, [Count, 3, 32, 32]);
        Assert.Equal(handWritten.call(x).data<float>().ToArray(), fromConfig.call(x).data<float>().ToArray());
    }

    [Fact]
    public void Should_convert_weights_both_ways_without_change()
    {
        foreach (var architecture in new[] { Architecture.Study, Architecture.Resolve("cifar-bn") })
        {
            using var keras = architecture.Build(seed: 3);
            foreach (var w in keras.Weights.Where(w => !w.Trainable))
                for (int i = 0; i < w.Size; i++) w.Value[i] = 0.5f + i; // moving statistics too
            using var torchModel = architecture.Torch.CreateModule();
            var original = keras.GetWeights();
            TorchWeights.KerasToTorch(keras, torchModel, architecture.Torch);
            using var other = architecture.Build(seed: 4);
            TorchWeights.TorchToKeras(torchModel, other, architecture.Torch);
            var roundTrip = other.GetWeights();
            Assert.Equal(original.Length, roundTrip.Length);
            for (int i = 0; i < original.Length; i++) Assert.Equal(original[i], roundTrip[i]);
        }
    }

    [Fact]
    public void Should_follow_the_same_trajectory_as_torchsharp_under_plain_sgd()
    {
        var set = SharedData.Cifar10.Train.Subset(64 * 5);
        using var keras = KerasStudy.CreateModel(seed: 11, learningRate: 0.05);
        keras.Compile(new SGD(0.05), metrics: ["accuracy"]);
        keras.Threads = 1;
        using var torchModel = new StudyCnn();
        TorchWeights.KerasToTorch(keras, torchModel, Architecture.Study.Torch);
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
        var torchWeights = WeightLayout.FromTorchLayout(keras, Architecture.Study.Torch, torchModel.parameters().Select(p => p.data<float>().ToArray()).ToArray());
        using var initial = KerasStudy.CreateModel(seed: 11, learningRate: 0.05);
        Assert.NotEqual(initial.GetWeights()[4], kerasWeights[4]);
        // 1e-3 of each tensor's largest value: conv1's bias is five steps of sums over 57,600 terms that mostly cancel
        // (its values stay below 0.01), and libtorch's order of summing them depends on the CPU's kernels; on one
        // 2-core EPYC the two frameworks' biases parted by 2.25e-4 of the largest. A wrong gradient parts by O(1).
        for (int i = 0; i < kerasWeights.Length; i++) AssertClose(torchWeights[i], kerasWeights[i], 1e-3, $"weight {i} after 5 steps");
    }
}
