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

    static string Expected(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Expected", name));

    static Sequential NamedStudyModel() => Tests.StudyModel.Named();

    // Expected/*.txt are rich 13.3.1's rendering of the table keras/src/utils/summary_utils.py builds (print_summary:
    // positions [0.45, 0.80, 1.0], Table(width=line_length, show_lines=True), Console(color_system=None) capture, the
    // parameter lines with readable_memory_size); Expected/render_summary.py reproduces them.
    [Fact]
    public void Should_print_keras_3s_summary_table()
    {
        using var model = NamedStudyModel();
        Assert.Equal(Expected("summary-study-76.txt"), model.Summary(lineLength: 76));
    }

    // After training, Keras adds the optimizer's variables (iterations, learning_rate, and Adam's two slots per weight:
    // 2 + 2 x 167,562 = 335,126; iterations is int64, so 1.28 MB) and counts them in the total.
    [Fact]
    public void Should_add_the_optimizers_variables_to_the_summary_once_it_has_state()
    {
        using var model = NamedStudyModel();
        model.Compile(new Optimizers.Adam(0.001), metrics: ["accuracy"]);
        Assert.DoesNotContain("Optimizer params", model.Summary(88));
        var (x, y) = Tests.StudyModel.RandomBatch(8, seed: 1);
        model.Fit(x, y, epochs: 1, batchSize: 8, verbose: 0);
        Assert.Equal(Expected("summary-study-88-trained.txt"), model.Summary(lineLength: 88));
    }

    // rich wraps a cell at spaces and cuts a word too long for its column with "…".
    [Fact]
    public void Should_wrap_long_names_and_shapes_as_rich_does()
    {
        using var model = Sequential.FromConfig("""
            {"class_name": "Sequential", "config": {"name": "cnn", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, 32, 32, 3]}},
              {"class_name": "Conv2D", "config": {"name": "a_rather_long_layer_name_for_conv", "filters": 32, "kernel_size": 3, "padding": "same"}},
              {"class_name": "BatchNormalization", "config": {"name": "batch_normalization"}},
              {"class_name": "GlobalAveragePooling2D", "config": {"name": "global_average_pooling2d"}},
              {"class_name": "Dense", "config": {"name": "dense", "units": 10}}]}}
            """);
        Assert.Equal(Expected("summary-wrapped-60.txt"), model.Summary(lineLength: 60));
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
