using System.Text.Json.Nodes;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Tests;

/// <summary>
/// Keras 3 model configs in and out. The config keys and defaults follow Keras 3's own get_config methods
/// (keras/src/layers/convolutional/base_conv.py, core/dense.py, normalization/batch_normalization.py,
/// pooling/base_pooling.py, core/input_layer.py, models/sequential.py).
/// </summary>
public class ModelConfigTests
{
    static Sequential EveryLayer(int seed = 1) => new(seed, [12, 10, 3],
    [
        new Conv2D(16, (3, 3), padding: "same", name: "c1"), new BatchNormalization(momentum: 0.9, epsilon: 1e-4, name: "bn"), new ReLU(name: "r"),
        new MaxPooling2D((2, 2), padding: "same", name: "mp"), new Conv2D(8, (2, 2), strides: (2, 1), activation: "relu", useBias: false, name: "c2"),
        new AveragePooling2D((3, 3), strides: (1, 1), padding: "same", name: "ap"), new GlobalAveragePooling2D(name: "gap"),
        new Dropout(0.25, seed: 7, name: "do"), new Dense(6, name: "d1"), new ActivationLayer("relu", name: "a"), new Dense(4, activation: "softmax", name: "d2"),
    ], name: "every_layer");

    [Fact]
    public void Should_rebuild_every_layer_from_its_own_config_with_the_same_layers_options_and_outputs()
    {
        using var model = EveryLayer();
        string json = model.ToJson();
        using var rebuilt = Sequential.FromConfig(json, seed: 2);
        Assert.Equal(json, rebuilt.ToJson());
        Assert.Equal("every_layer", rebuilt.Name);
        Assert.Equal(model.Layers.Select(l => l.Name), rebuilt.Layers.Select(l => l.Name));
        rebuilt.SetWeights(model.GetWeights());
        var x = Enumerable.Range(0, 3 * 360).Select(i => (float)Math.Sin(i)).ToArray();
        Assert.Equal(model.Predict(x), rebuilt.Predict(x));
    }

    [Fact]
    public void Should_count_trainable_and_non_trainable_weights_like_keras()
    {
        using var model = EveryLayer();
        // BatchNormalization: gamma and beta train, the moving mean and variance do not (4 x 16 values, half trainable).
        Assert.Equal(32, model.NonTrainableParameterCount);
        Assert.Equal(model.ParameterCount - 32, model.TrainableParameterCount);
        Assert.Equal(["gamma", "beta", "moving_mean", "moving_variance"], model.Layers[1].Weights.Select(w => w.Name));
        Assert.Contains(" Non-trainable params: 32", model.Summary());
    }

    [Fact]
    public void Should_write_the_config_keras_3_16_writes()
    {
        using var model = EveryLayer();
        var root = JsonNode.Parse(model.ToJson())!;
        var layers = root["config"]!["layers"]!.AsArray();
        // Sequential.get_config of a built model: build_input_shape, the InputLayer's batch_shape (models/sequential.py).
        Assert.Equal("[null,12,10,3]", root["config"]!["build_input_shape"]!.ToJsonString());
        // GlorotUniform's input_axes and output_axes (initializers/random_initializers.py, since 3.15.0).
        var glorot = (JsonObject)layers[1]!["config"]!["kernel_initializer"]!["config"]!;
        Assert.Equal(["seed", "input_axes", "output_axes"], glorot.Select(p => p.Key));
        // BatchNormalization's renorm, renorm_clipping and renorm_momentum (normalization/batch_normalization.py, since 3.14.0).
        var bn = (JsonObject)layers[2]!["config"]!;
        Assert.Equal((false, true, 0.99), ((bool)bn["renorm"]!, bn.ContainsKey("renorm_clipping") && bn["renorm_clipping"] is null, (double)bn["renorm_momentum"]!));
        // build_config only where a build creates weights (layers/layer.py, get_build_config).
        var built = layers.Skip(1).Where(l => ((JsonObject)l!).ContainsKey("build_config")).Select(l => (string)l!["class_name"]!).ToList();
        Assert.Equal(["Conv2D", "BatchNormalization", "Conv2D", "Dense", "Dense"], built);
        // And it reads back to the same model.
        using var again = Sequential.FromConfig(model.ToJson(), seed: 1);
        Assert.Equal(model.ToJson(), again.ToJson());
    }

    [Fact]
    public void Should_save_the_loss_as_compile_was_given_it()
    {
        // Keras keeps compile's arguments as given (trainers/trainer.py, compile: SerializableDict(loss=loss, ...)).
        using var folder = new TwinTrain.Tests.Shared.TempFolder();
        using var named = EveryLayer();
        named.Compile("adam", "sparse_categorical_crossentropy");
        named.Save(folder["named.keras"]);
        using var loaded = Sequential.Load(folder["named.keras"]);
        Assert.Equal("sparse_categorical_crossentropy", loaded.LossIdentifier);
        using var objectLoss = EveryLayer();
        objectLoss.Compile(new Optimizers.Adam(), new Losses.SparseCategoricalCrossentropy(fromLogits: true));
        Assert.Null(objectLoss.LossIdentifier);
        objectLoss.Save(folder["object.keras"]);
        using var zip = System.IO.Compression.ZipFile.OpenRead(folder["object.keras"]);
        using var reader = new StreamReader(zip.GetEntry("config.json")!.Open());
        var compile = JsonNode.Parse(reader.ReadToEnd())!["compile_config"]!;
        Assert.Equal("SparseCategoricalCrossentropy", (string?)compile["loss"]!["class_name"]);
        Assert.True((bool)compile["loss"]!["config"]!["from_logits"]!);
    }

    [Fact]
    public void Should_write_what_keras_writes_for_a_layer()
    {
        using var model = EveryLayer();
        var root = JsonNode.Parse(model.ToJson())!;
        var layers = root["config"]!["layers"]!.AsArray();
        Assert.Equal("InputLayer", (string?)layers[0]!["class_name"]);
        Assert.Equal("[null,12,10,3]", layers[0]!["config"]!["batch_shape"]!.ToJsonString());
        var conv = layers[1]!["config"]!;
        foreach (string key in new[] { "name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
            "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint" })
            Assert.True(conv[key] is not null || ((JsonObject)conv).ContainsKey(key), $"Conv2D config lacks '{key}'");
        Assert.Equal("GlorotUniform", (string?)conv["kernel_initializer"]!["class_name"]);
        Assert.Equal("float32", (string?)conv["dtype"]!["config"]!["name"]);
        Assert.Equal("keras.layers", (string?)layers[1]!["module"]);
        Assert.Equal("[null,12,10,3]", layers[1]!["build_config"]!["input_shape"]!.ToJsonString());
        Assert.Equal(0.9, (double)layers[2]!["config"]!["momentum"]!);
    }

    [Fact]
    public void Should_read_a_keras_2_style_config_with_defaults_left_out()
    {
        // Keras 2 put the batch shape on the first layer and serialized activations as objects; options left out take Keras's defaults.
        const string json = """
            {"class_name": "Sequential", "config": {"name": "old", "layers": [
              {"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": 3, "batch_input_shape": [null, 8, 8, 1],
                "activation": {"class_name": "function", "config": "relu"}}},
              {"class_name": "MaxPooling2D", "config": {"name": "p", "strides": null}},
              {"class_name": "Flatten", "config": {"name": "f"}},
              {"class_name": "Dense", "config": {"name": "d", "units": 3}}]}}
            """;
        using var model = Sequential.FromConfig(json);
        Assert.Equal([8, 8, 1], model.InputShape);
        var conv = (Conv2D)model.Layers[0];
        Assert.Equal(((1, 1), "valid", Activation.Relu, true), (conv.Strides, conv.Padding, conv.Activation, conv.UseBias));
        var pool = (MaxPooling2D)model.Layers[1];
        Assert.Equal(((2, 2), (2, 2)), (pool.PoolSize, pool.Strides));
        Assert.Equal([3], model.OutputShape);
    }

    [Theory]
    [InlineData("""{"class_name": "Functional", "config": {"layers": []}}""", "only Sequential")]
    [InlineData("""{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense", "config": {"name": "d", "units": 3}}]}}""", "declares no input shape")]
    [InlineData("""{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}}, {"class_name": "Dense", "config": {"name": "d", "units": 3, "dtype": "float16"}}]}}""", "layer 1 'd' (Dense): option 'dtype'")]
    [InlineData("""{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}}, {"class_name": "Dense", "config": {"name": "d", "units": 3, "kernel_initializer": "he_normal"}}]}}""", "only GlorotUniform")]
    [InlineData("""{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 4, 2]}}, {"class_name": "BatchNormalization", "config": {"name": "b", "axis": 1}}]}}""", "only the last axis")]
    [InlineData("""{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}}, {"class_name": "Dense", "config": {"name": "d"}}]}}""", "option 'units' is required")]
    [InlineData("""{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}}, {"class_name": "Dropout", "config": {"name": "x", "rate": 1.5}}]}}""", "'rate' = 1.5 is out of range")]
    public void Should_refuse_what_it_does_not_implement_naming_the_layer_and_option(string json, string expected)
    {
        var error = Assert.Throws<ModelConfigException>(() => Sequential.FromConfig(json));
        Assert.Contains(expected, error.Message);
    }
}
