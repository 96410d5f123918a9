using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras.Tests;

/// <summary>What the engine offers outside its assembly: a layer called alone, and bench's kernel micro-benchmark.</summary>
public class KerasEngineTests
{
    [Fact]
    public void Should_call_a_layer_alone_with_its_own_activation_even_where_the_model_fuses_the_next_relu()
    {
        var conv = new Conv2D(16, (3, 3), inputShape: (6, 7, 3));
        using var model = new Sequential(conv, new ReLU(), new Flatten());
        var random = new Random(2);
        var x = Enumerable.Range(0, 2 * conv.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var predicted = model.Predict(x, batchSize: 2);
        Assert.True(conv.FuseRelu, "the model computes the ReLU inside the convolution");

        var alone = conv.Call(x);
        Assert.Contains(alone, v => v < 0);
        Assert.Equal(predicted.Length, alone.Length);
        for (int i = 0; i < alone.Length; i++) Assert.Equal(Math.Max(alone[i], 0f), predicted[i], 6);
        Assert.True(conv.FuseRelu, "calling the layer alone leaves the model's fusion as it was");
        var error = Assert.Throws<ArgumentException>(() => conv.Call(new float[conv.InputSize + 1]));
        Assert.Contains("(None, 6, 7, 3)", error.Message);
    }

    [Fact]
    public void Should_time_the_kernels_of_every_convolution_and_dense_layer_of_the_study()
    {
        using var model = new Sequential(
            new Conv2D(32, (3, 3), activation: "relu", inputShape: (32, 32, 3), name: "conv1"), new MaxPooling2D((2, 2)),
            new Conv2D(64, (3, 3), activation: "relu", name: "conv2"), new MaxPooling2D((2, 2)), new Flatten(),
            new Dense(64, activation: "relu", name: "fc1"), new Dense(10, name: "fc2"));
        var kernels = KerasEngine.BenchmarkKernels(model, TimeSpan.FromMilliseconds(1));
        // The paths the layers take with AVX2/FMA (the scalar fallback has no Winograd and no image-row products); conv2's
        // forward products take two images' 49 tiles at once, its weight gradient behind max pooling one image's.
        if (Gemm.UseSimd)
        {
            Assert.Equal(
            [
                "conv1: forward, from image rows (per row) 30x32x27", "conv1: weight gradient, dense (Aᵀ) 28x32x900",
                "conv2: forward, Winograd F(2x2, 3x3) (x16) 98x64x32", "conv2: both gradients, sparse (1 in 8) 169x64 gradient",
                "conv2: weight gradient, Winograd F(2x2, 3x3) (x16) 32x64x49", "conv2: input gradient, Winograd F(2x2, 3x3) (x16) 64x32x64",
                "fc1: forward 32x64x2304", "fc1: weight gradient (Aᵀ) 2304x64x32", "fc1: input gradient 32x2304x64",
                "fc2: forward 32x10x64", "fc2: weight gradient (Aᵀ) 64x10x32", "fc2: input gradient 32x64x10",
            ], kernels.Select(k => $"{k.Layer}: {k.Kernel} {k.Shape}"));
        }
        Assert.All(kernels, k => Assert.True(double.IsFinite(k.GflopsPerSecond) && k.GflopsPerSecond > 0, $"{k.Layer} {k.Kernel}: {k.GflopsPerSecond}"));
    }
}
