using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras.Tests;

/// <summary>The study's CNN in Keras style, and CIFAR-10 as the float arrays a Keras user would pass.</summary>
internal static class StudyModel
{
    public static Sequential Create(int seed = 0) => new(seed,
        new Conv2D(32, (3, 3), activation: "relu", inputShape: (32, 32, 3)),
        new MaxPooling2D((2, 2)),
        new Conv2D(64, (3, 3), activation: "relu"),
        new MaxPooling2D((2, 2)),
        new Flatten(),
        new Dense(64, activation: "relu"),
        new Dense(10, activation: "softmax"));

    /// <summary>The study's CNN with Keras's default layer names, from its config.</summary>
    public static Sequential Named() => Sequential.FromConfig("""
        {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 32, 32, 3]}},
          {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 32, "kernel_size": [3, 3], "activation": "relu"}},
          {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d"}},
          {"class_name": "Conv2D", "config": {"name": "conv2d_1", "filters": 64, "kernel_size": [3, 3], "activation": "relu"}},
          {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d_1"}},
          {"class_name": "Flatten", "config": {"name": "flatten"}},
          {"class_name": "Dense", "config": {"name": "dense", "units": 64, "activation": "relu"}},
          {"class_name": "Dense", "config": {"name": "dense_1", "units": 10, "activation": "softmax"}}]}}
        """);

    /// <summary>Pixels scaled to [0, 1] in NHWC order, and labels as ints.</summary>
    public static (float[] X, int[] Y) Arrays(ImageSet set)
    {
        var x = new float[set.Pixels.Length];
        for (int i = 0; i < x.Length; i++) x[i] = set.Pixels[i] / 255f;
        return (x, set.Labels.Select(l => (int)l).ToArray());
    }

    public static (float[] X, int[] Y) RandomBatch(int count, int seed)
    {
        var random = new SplitMix64((ulong)seed);
        var x = new float[count * CifarClasses.PixelsPerImage];
        for (int i = 0; i < x.Length; i++) x[i] = random.NextFloat();
        return (x, Enumerable.Range(0, count).Select(_ => random.NextInt(10)).ToArray());
    }
}
