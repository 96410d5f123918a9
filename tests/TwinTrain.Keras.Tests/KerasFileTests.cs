using System.IO.Compression;
using System.Text.Json.Nodes;
using PureHDF;
using TwinTrain.Keras.Optimizers;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Keras.Tests;

/// <summary>
/// `.keras` files in Keras 3's layout (keras/src/saving/saving_lib.py: config.json, metadata.json, model.weights.h5
/// with layers/NAME/vars/I and optimizer/vars/I, written by H5IOStore): TwinTrain's files are read back at the HDF5
/// level, and a file built here in Keras's layout, independently of TwinTrain's writer, is read.
/// </summary>
[Collection(ConsoleCapture.Collection)]
public class KerasFileTests
{
    static Sequential Trained()
    {
        var model = StudyModel.Named();
        model.Compile(new Adam(0.001), metrics: ["accuracy"]);
        var (x, y) = StudyModel.RandomBatch(16, seed: 2);
        model.Fit(x, y, epochs: 1, batchSize: 8, verbose: 0, shuffle: false);
        return model;
    }

    [Fact]
    public void Should_write_keras_3s_layout_and_read_it_back_to_the_same_model_and_optimizer()
    {
        using var folder = new TempFolder();
        string path = folder["model.keras"];
        using var model = Trained();
        model.Save(path);

        using (var zip = ZipFile.OpenRead(path))
        {
            Assert.Equal(["config.json", "metadata.json", "model.weights.h5"], zip.Entries.Select(e => e.FullName).Order());
            var config = JsonNode.Parse(new StreamReader(zip.GetEntry("config.json")!.Open()).ReadToEnd())!;
            Assert.Equal("Sequential", (string?)config["class_name"]);
            Assert.Equal("Adam", (string?)config["compile_config"]!["optimizer"]!["class_name"]);
            Assert.Equal("accuracy", (string?)config["compile_config"]!["metrics"]![0]);
            var h5Bytes = new MemoryStream();
            zip.GetEntry("model.weights.h5")!.Open().CopyTo(h5Bytes);
            h5Bytes.Position = 0;
            using var h5 = H5File.Open(h5Bytes);
            Assert.Equal([3UL, 3, 3, 32], h5.Dataset("layers/conv2d/vars/0").Space.Dimensions);
            Assert.Equal([32UL], h5.Dataset("layers/conv2d/vars/1").Space.Dimensions);
            Assert.Equal([2304UL, 64], h5.Dataset("layers/dense/vars/0").Space.Dimensions);
            Assert.Equal(model.Layers[0].Weights[0].Value, h5.Dataset("layers/conv2d/vars/0").Read<float[]>());
            // iterations, learning_rate, then Adam's momentum and velocity interleaved per weight: 2 + 2 x 8.
            var optimizer = h5.Group("optimizer/vars");
            Assert.Equal(18, optimizer.Children().Count());
            Assert.Equal(2L, optimizer.Dataset("0").Read<long>());
            Assert.Equal(0.001f, optimizer.Dataset("1").Read<float>());
            Assert.Equal(model.Optimizer!.GetState()[0], optimizer.Dataset("2").Read<float[]>()); // momentum of conv2d's kernel
            Assert.Equal(model.Optimizer!.GetState()[8], optimizer.Dataset("3").Read<float[]>()); // its velocity
            // Each with its weight's shape, as add_variable_from_reference makes it (Keras assigns them to variables of that shape).
            Assert.Equal([3UL, 3, 3, 32], optimizer.Dataset("2").Space.Dimensions);
            Assert.Equal([2304UL, 64], optimizer.Dataset("10").Space.Dimensions);
            Assert.Equal([10UL], optimizer.Dataset("17").Space.Dimensions);
        }

        // Loaded, it predicts the same and continues training bitwise as the original does.
        using var loaded = Sequential.Load(path);
        var (x, y) = StudyModel.RandomBatch(16, seed: 2);
        Assert.Equal(model.Predict(x), loaded.Predict(x));
        model.Fit(x, y, epochs: 2, initialEpoch: 1, batchSize: 8, verbose: 0, shuffle: false);
        loaded.Fit(x, y, epochs: 2, initialEpoch: 1, batchSize: 8, verbose: 0, shuffle: false);
        Assert.Equal(model.GetWeights()[4], loaded.GetWeights()[4]);
    }

    /// <summary>A `.keras` file as Keras 3 writes one, built here with PureHDF and the config text.</summary>
    const string RmspropCompile = """
        {"optimizer": "rmsprop", "loss": "sparse_categorical_crossentropy", "loss_weights": null, "metrics": ["acc"],
         "weighted_metrics": null, "run_eagerly": false, "steps_per_execution": 1, "jit_compile": false}
        """;

    static void WriteKerasFixture(string path, string layers, H5Group weights, string compile = RmspropCompile, H5Group? optimizerVars = null)
    {
        string config = $$$"""
            {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true,
              "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
              "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null},
                {{{layers}}}]},
             "registered_name": null, "build_config": {"input_shape": [null, 4]},
             "compile_config": {{{compile}}}}
            """;
        var h5 = new MemoryStream();
        var file = new H5File { ["layers"] = weights, ["vars"] = new H5Group() };
        if (optimizerVars is not null) file["optimizer"] = new H5Group { ["vars"] = optimizerVars };
        file.Write(h5);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, bytes) in new[] { ("metadata.json", """{"keras_version": "3.16.0", "date_saved": "2026-12-01@12:00:00"}"""u8.ToArray()),
            ("config.json", System.Text.Encoding.UTF8.GetBytes(config)), ("model.weights.h5", h5.ToArray()) })
        {
            using var entry = zip.CreateEntry(name).Open();
            entry.Write(bytes);
        }
    }

    const string DenseLayers = """
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 3, "activation": "relu", "use_bias": true,
          "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
          "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
          "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 4]}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "units": 2, "activation": "softmax"}, "registered_name": null}
        """;

    static H5Group DenseWeights(float[]? firstKernel = null, ulong[]? firstDims = null, bool withSecond = true)
    {
        var layers = new H5Group
        {
            ["dense"] = new H5Group { ["vars"] = new H5Group
            {
                ["0"] = new H5Dataset(firstKernel ?? Enumerable.Range(0, 12).Select(i => i / 10f).ToArray(), fileDims: firstDims ?? [4, 3]),
                ["1"] = new float[] { 0.5f, -0.5f, 0.25f },
            } },
        };
        if (withSecond) layers["dense_1"] = new H5Group { ["vars"] = new H5Group { ["0"] = new H5Dataset(Enumerable.Range(0, 6).Select(i => -i / 10f).ToArray(), fileDims: [3, 2]), ["1"] = new float[] { 1f, 2f } } };
        return layers;
    }

    [Fact]
    public void Should_read_a_keras_3_file_built_in_kerass_layout()
    {
        using var folder = new TempFolder();
        WriteKerasFixture(folder["fixture.keras"], DenseLayers, DenseWeights());
        using var model = Sequential.Load(folder["fixture.keras"]);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => i / 10f), model.Layers[0].Weights[0].Value);
        Assert.Equal([1f, 2f], model.Layers[1].Weights[1].Value);
        Assert.Equal("rmsprop", model.Optimizer!.Name);
        Assert.Equal(["acc"], model.Metrics);
        // y = softmax(relu(x·W1 + b1)·W2 + b2) for x = (1, 0, 0, 0): relu(0, 0.1, 0.2 + (0.5, -0.5, 0.25)) = (0.5, 0, 0.45).
        var p = model.Predict([1, 0, 0, 0]);
        double z0 = 0.5 * 0 + 0 * -0.2 + 0.45 * -0.4 + 1, z1 = 0.5 * -0.1 + 0 * -0.3 + 0.45 * -0.5 + 2;
        Assert.Equal(Math.Exp(z0) / (Math.Exp(z0) + Math.Exp(z1)), p[0], 5);
    }

    const string AdamCompile = """{"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}""";

    /// <summary>Adam's variables as Keras saves them: iterations, learning_rate, then per weight its m and its v (add_variable_from_reference order).</summary>
    static H5Group AdamVars(object iterations)
    {
        var vars = new H5Group { ["0"] = iterations, ["1"] = 0.001f };
        int[] sizes = [12, 3, 6, 2];
        for (int w = 0; w < sizes.Length; w++)
        {
            vars[(2 + 2 * w).ToString(System.Globalization.CultureInfo.InvariantCulture)] = Enumerable.Repeat(w + 0.5f, sizes[w]).ToArray();
            vars[(3 + 2 * w).ToString(System.Globalization.CultureInfo.InvariantCulture)] = Enumerable.Repeat(w + 0.25f, sizes[w]).ToArray();
        }
        return vars;
    }

    [Fact]
    public void Should_read_the_iteration_counter_as_int32_as_keras_saves_it_on_the_torch_and_jax_backends()
    {
        // The counter is a variable of the backend's default integer type: int64 on TensorFlow, int32 on torch and jax.
        using var folder = new TempFolder();
        WriteKerasFixture(folder["torch-backend.keras"], DenseLayers, DenseWeights(), AdamCompile, AdamVars(7));
        using var model = Sequential.Load(folder["torch-backend.keras"]);
        Assert.Equal(7, model.Optimizer!.Iterations);
        var state = model.Optimizer.GetState();
        Assert.Equal(Enumerable.Repeat(0.5f, 12), state[0]); // the first weight's m
        Assert.Equal(Enumerable.Repeat(3.25f, 2), state[7]); // the last weight's v
        WriteKerasFixture(folder["tensorflow.keras"], DenseLayers, DenseWeights(), AdamCompile, AdamVars(7L));
        using var tensorflow = Sequential.Load(folder["tensorflow.keras"]);
        Assert.Equal(7, tensorflow.Optimizer!.Iterations);
    }

    [Fact]
    public void Should_load_an_uncompiled_model_and_start_an_unstepped_optimizer_fresh_with_kerass_warning()
    {
        using var folder = new TempFolder();
        // Uncompiled: compile_config {} and no optimizer variables; Keras loads it uncompiled and it predicts.
        WriteKerasFixture(folder["uncompiled.keras"], DenseLayers, DenseWeights(), "{}");
        using (var uncompiled = Sequential.Load(folder["uncompiled.keras"]))
        {
            Assert.Null(uncompiled.Optimizer);
            Assert.Equal(2, uncompiled.Predict([1, 0, 0, 0]).Length);
        }
        // Saved before its first step, Adam holds its 2 scalars only: Keras warns (base_optimizer.py, load_own_variables) and starts fresh.
        var stderr = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            WriteKerasFixture(folder["unstepped.keras"], DenseLayers, DenseWeights(), AdamCompile, new H5Group { ["0"] = 0L, ["1"] = 0.001f });
            using var unstepped = Sequential.Load(folder["unstepped.keras"]);
            Assert.Equal(0, unstepped.Optimizer!.Iterations);
        }
        finally
        {
            Console.SetError(stderr);
        }
        Assert.Contains("UserWarning: Skipping variable loading for optimizer 'adam', because it has 10 variables whereas the saved optimizer has 2 variables.", captured.ToString());
    }

    [Fact]
    public void Should_name_a_dataset_of_an_unexpected_type_instead_of_calling_the_file_damaged()
    {
        using var folder = new TempFolder();
        var weights = DenseWeights();
        ((H5Group)((H5Group)weights["dense"])["vars"])["1"] = new int[] { 1, 2, 3 };
        WriteKerasFixture(folder["ints.keras"], DenseLayers, weights);
        var error = Assert.Throws<InvalidDataException>(() => Sequential.Load(folder["ints.keras"]));
        Assert.Contains("layer 'dense' weight 1 ('bias') in model.weights.h5 is of HDF5 type FixedPoint with 4 bytes, not floating point", error.Message);
        Assert.DoesNotContain("truncated", error.Message);
    }

    [Fact]
    public void Should_file_weights_by_class_and_position_as_keras_does_whatever_the_layers_are_named()
    {
        // keras/src/saving/saving_lib.py, _save_container_state: layers/<snake_case class name>, _1, _2, ... in order,
        // not layer.name. Here the layers' names are each other's (a model built second in a Keras session has others).
        using var folder = new TempFolder();
        string swapped = DenseLayers.Replace("\"name\": \"dense\",", "\"name\": \"first\",").Replace("\"name\": \"dense_1\",", "\"name\": \"dense\",");
        WriteKerasFixture(folder["named.keras"], swapped, DenseWeights());
        using var model = Sequential.Load(folder["named.keras"]);
        Assert.Equal(["first", "dense"], model.Layers.Select(l => l.Name));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => i / 10f), model.Layers[0].Weights[0].Value); // layers/dense, the first Dense
        Assert.Equal([1f, 2f], model.Layers[1].Weights[1].Value); // layers/dense_1, the second

        // And TwinTrain writes by the same rule: a model with names of its own files them under its classes.
        using var named = new Sequential(0, [4], [new Layers.Dense(3, "relu", name: "c_first"), new Layers.Dropout(0.1, name: "drop"), new Layers.Dense(2, "softmax", name: "c_last")]);
        Assert.Equal(["dense", "dropout", "dense_1"], Saving.KerasFile.StorageNames(named));
        named.Save(folder["own.keras"]);
        using (var zip = ZipFile.OpenRead(folder["own.keras"]))
        using (var weights = new MemoryStream())
        {
            zip.GetEntry("model.weights.h5")!.Open().CopyTo(weights);
            weights.Position = 0;
            using var h5 = H5File.Open(weights);
            Assert.True(h5.LinkExists("layers/dense_1/vars/0"));
            Assert.False(h5.LinkExists("layers/c_first"));
        }
        using var loaded = Sequential.Load(folder["own.keras"]);
        Assert.Equal(named.Layers[2].Weights[0].Value, loaded.Layers[2].Weights[0].Value);
    }

    [Fact]
    public void Should_refuse_an_unsupported_layer_a_missing_weight_a_wrong_shape_and_a_damaged_file_naming_each()
    {
        using var folder = new TempFolder();
        WriteKerasFixture(folder["lstm.keras"], """{"class_name": "LSTM", "config": {"name": "lstm", "units": 3}}""", new H5Group());
        Assert.Contains("layer 1 'lstm' (LSTM)", Assert.Throws<InvalidDataException>(() => Sequential.Load(folder["lstm.keras"])).Message);

        WriteKerasFixture(folder["missing.keras"], DenseLayers, DenseWeights(withSecond: false));
        Assert.Contains("layer 'dense_1' (Dense) has no weights in model.weights.h5", Assert.Throws<InvalidDataException>(() => Sequential.Load(folder["missing.keras"])).Message);

        WriteKerasFixture(folder["shape.keras"], DenseLayers, DenseWeights(firstDims: [3, 4]));
        Assert.Contains("layer 'dense' weight 0 ('kernel') has shape (3, 4) in model.weights.h5; the layer needs (4, 3)",
            Assert.Throws<InvalidDataException>(() => Sequential.Load(folder["shape.keras"])).Message);

        // A truncated HDF5 file inside the zip.
        WriteKerasFixture(folder["whole.keras"], DenseLayers, DenseWeights());
        byte[] h5;
        using (var zip = ZipFile.OpenRead(folder["whole.keras"])) { var s = new MemoryStream(); zip.GetEntry("model.weights.h5")!.Open().CopyTo(s); h5 = s.ToArray(); }
        using (var zip = ZipFile.Open(folder["cut.keras"], ZipArchiveMode.Create))
        {
            using (var c = zip.CreateEntry("config.json").Open()) using (var z = ZipFile.OpenRead(folder["whole.keras"])) z.GetEntry("config.json")!.Open().CopyTo(c);
            using var w = zip.CreateEntry("model.weights.h5").Open();
            w.Write(h5.AsSpan(0, h5.Length / 3));
        }
        var error = Assert.Throws<InvalidDataException>(() => Sequential.Load(folder["cut.keras"]));
        Assert.Contains("cut.keras: cannot load the model: model.weights.h5 cannot be read", error.Message);
    }

    // saving_api.py, save_weights: the name must end in .weights.h5; the file holds the same layers/ and optimizer/
    // groups as a .keras file's model.weights.h5. ModelCheckpoint: save_weights_only needs .weights.h5, a model .keras.
    [Fact]
    public void Should_save_and_load_weights_alone_and_checkpoint_them_as_keras_does()
    {
        using var folder = new TempFolder();
        using var model = Trained();
        model.SaveWeights(folder["model.weights.h5"]);
        using (var h5 = H5File.OpenRead(folder["model.weights.h5"]))
        {
            Assert.Equal([2304UL, 64], h5.Dataset("layers/dense/vars/0").Space.Dimensions);
            Assert.Equal(18, h5.Group("optimizer/vars").Children().Count());
        }
        Assert.Equal("The filename must end in `.weights.h5`. Received: filepath=" + folder["w.h5"],
            Assert.Throws<ArgumentException>(() => model.SaveWeights(folder["w.h5"])).Message);

        using var other = StudyModel.Named();
        other.Compile(new Adam(0.001), metrics: ["accuracy"]);
        other.LoadWeights(folder["model.weights.h5"]);
        var (x, _) = StudyModel.RandomBatch(8, seed: 4);
        Assert.Equal(model.Predict(x), other.Predict(x));
        Assert.Equal(model.Optimizer!.Iterations, other.Optimizer!.Iterations);

        var checkpoint = new Callbacks.ModelCheckpoint(folder["w-{epoch}.weights.h5"], monitor: "loss", saveWeightsOnly: true);
        var (xt, yt) = StudyModel.RandomBatch(8, seed: 5);
        model.Fit(xt, yt, epochs: 1, batchSize: 8, verbose: 0, callbacks: [checkpoint]);
        Assert.True(File.Exists(folder["w-1.weights.h5"]));
        Assert.Contains("must end in `.weights.h5` (Keras weights format)",
            Assert.Throws<ArgumentException>(() => new Callbacks.ModelCheckpoint(folder["w.keras"], saveWeightsOnly: true)).Message);
        Assert.Contains("The filepath provided must end in `.keras` (Keras model format)",
            Assert.Throws<ArgumentException>(() => new Callbacks.ModelCheckpoint(folder["m.zip"])).Message);
    }
}
