using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras.Tests;

public class SequentialTests
{
    static Sequential StudyModel() => Tests.StudyModel.Create();

    [Fact]
    public void Should_infer_the_studys_shapes_and_count_167562_parameters()
    {
        var model = StudyModel();
        Assert.Equal(167_562, model.ParameterCount);
        Assert.Equal(
            ["(None, 30, 30, 32)", "(None, 15, 15, 32)", "(None, 13, 13, 64)", "(None, 6, 6, 64)", "(None, 2304)", "(None, 64)", "(None, 10)"],
            model.Layers.Select(l => Layer.Format(l.OutputShape)).ToArray());
        Assert.Equal([896L, 0, 18_496, 0, 0, 147_520, 650], model.Layers.Select(l => l.ParameterCount).ToArray());
    }

    [Fact]
    public void Should_print_a_keras_style_summary()
    {
        string summary = StudyModel().Summary();
        Assert.Contains("Total params: 167,562", summary);
        Assert.Matches(@"conv2d(_\d+)? \(Conv2D\)\s+\(None, 30, 30, 32\)\s+896", summary);
        Assert.Matches(@"dense(_\d+)? \(Dense\)\s+\(None, 64\)\s+147,520", summary);
    }

    [Fact]
    public void Should_explain_a_dense_layer_after_a_convolution_without_flatten()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new Sequential(
            new Conv2D(8, (3, 3), inputShape: (8, 8, 3)),
            new Dense(10, name: "head")));
        Assert.Contains("'head'", error.Message);
        Assert.Contains("(None, 6, 6, 8)", error.Message);
        Assert.Contains("add a Flatten layer", error.Message);
    }

    [Fact]
    public void Should_compute_same_padding_and_strides_as_tensorflow()
    {
        var model = new Sequential(
            new Conv2D(4, (3, 3), strides: (2, 2), padding: "same", inputShape: (7, 7, 2)),
            new Conv2D(4, (3, 3), padding: "same"));
        Assert.Equal([4, 4, 4], model.Layers[0].OutputShape);
        Assert.Equal([4, 4, 4], model.OutputShape);
    }

    [Fact]
    public void Should_initialise_kernels_glorot_uniform_and_biases_zero()
    {
        var dense = (Dense)StudyModel().Layers[5];
        double limit = Math.Sqrt(6.0 / (2304 + 64));
        Assert.All(dense.Kernel.Value, w => Assert.InRange(w, -limit, limit));
        Assert.All(dense.Bias!.Value, b => Assert.Equal(0f, b));
        double mean = dense.Kernel.Value.Average(w => (double)w);
        double variance = dense.Kernel.Value.Average(w => (w - mean) * (w - mean));
        Assert.InRange(variance, limit * limit / 3 * 0.95, limit * limit / 3 * 1.05); // uniform(-a, a): a²/3
    }
}
