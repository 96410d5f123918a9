using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using PureHDF;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Losses;
using TwinTrain.Keras.Optimizers;

namespace TwinTrain.Keras.Saving;

/// <summary>
/// Keras 3's own model format, `.keras` (keras/src/saving/saving_lib.py): a zip holding config.json (the model config
/// with its compile_config), metadata.json and model.weights.h5, where each layer's variables are the datasets
/// layers/&lt;layer name&gt;/vars/0, 1, ... (trainable ones first, in the layer's order) and the optimizer's are
/// optimizer/vars/0, 1, ... (iterations, learning_rate, then its slots in Keras's order). The HDF5 file is written and
/// read with PureHDF. Every weight's shape is checked against the model built from the config.
/// </summary>
internal static class KerasFile
{
    /// <summary>The Keras version whose source the format follows (keras/src/version.py).</summary>
    const string KerasVersion = "3.16.0";
    const string Config = "config.json", Metadata = "metadata.json", Weights = "model.weights.h5";

    public static bool IsKerasFile(string path) => path.EndsWith(".keras", StringComparison.OrdinalIgnoreCase);

    public static void Save(Sequential model, string path)
    {
        var config = ModelConfig.ToNode(model);
        if (model.Optimizer is { } optimizer) config["compile_config"] = CompileConfig(model, optimizer);
        var metadata = new JsonObject { ["keras_version"] = KerasVersion, ["date_saved"] = DateTime.Now.ToString("yyyy-MM-dd@HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) };

        var h5 = WeightsFile(model);
        var weights = new MemoryStream();
        h5.Write(weights);

        TwinTrain.Data.AtomicFile.Write(path, file =>
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);
            WriteEntry(zip, Metadata, JsonSerializer.SerializeToUtf8Bytes(metadata));
            WriteEntry(zip, Config, JsonSerializer.SerializeToUtf8Bytes(config));
            WriteEntry(zip, Weights, weights.ToArray());
        });
    }

    /// <summary>
    /// The model's state as Keras's H5IOStore lays it out: layers/CLASS[_N]/vars/I for every layer (<see cref="StorageNames"/>), optimizer/vars/I once the
    /// optimizer has state, and the model's own (empty) vars.
    /// </summary>
    static H5File WeightsFile(Sequential model)
    {
        var h5 = new H5File { ["vars"] = new H5Group() };
        var layers = new H5Group();
        var names = StorageNames(model);
        foreach (var (layer, storage) in model.Layers.Zip(names))
        {
            var vars = new H5Group { Attributes = new() { ["name"] = layer.Name } };
            var ordered = KerasOrder(layer);
            for (int i = 0; i < ordered.Count; i++)
                vars[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new H5Dataset(ordered[i].Value, fileDims: [.. ordered[i].Shape.Select(d => (ulong)d)]);
            layers[storage] = new H5Group { ["vars"] = vars };
        }
        h5["layers"] = layers;
        if (model.Optimizer is { } opt && (opt.Iterations > 0 || opt.GetState().Count > 0))
        {
            var vars = new H5Group { ["0"] = opt.Iterations, ["1"] = (float)opt.LearningRate };
            var state = opt.GetState();
            var order = SlotOrder(opt, model.TrainableWeights.Count, state.Count);
            // Each slot has its weight's shape, as Keras's add_variable_from_reference gives it (load_own_variables
            // assigns them to variables of that shape); the state keeps slots in blocks, one array per weight.
            var weights = model.TrainableWeights;
            for (int i = 0; i < order.Length; i++)
            {
                var slot = state[order[i]];
                var owner = weights.Count > 0 ? weights[order[i] % weights.Count] : null;
                vars[(i + 2).ToString(System.Globalization.CultureInfo.InvariantCulture)] = owner is not null && owner.Size == slot.Length
                    ? new H5Dataset(slot, fileDims: [.. owner.Shape.Select(d => (ulong)d)])
                    : slot;
            }
            h5["optimizer"] = new H5Group { ["vars"] = vars };
        }
        return h5;
    }

    /// <summary>
    /// model.save_weights: the same HDF5 file as inside a `.keras`, on its own; the name must end in .weights.h5
    /// (keras/src/saving/saving_api.py, save_weights).
    /// </summary>
    public static void SaveWeights(Sequential model, string path)
    {
        if (!path.EndsWith(".weights.h5", StringComparison.Ordinal))
            throw new ArgumentException($"The filename must end in `.weights.h5`. Received: filepath={path}");
        var bytes = new MemoryStream();
        WeightsFile(model).Write(bytes);
        TwinTrain.Data.AtomicFile.WriteAllBytes(path, bytes.ToArray());
    }

    /// <summary>model.load_weights from a .weights.h5 file: every layer's weights, shapes checked, and the optimizer's state if it fits.</summary>
    public static void LoadWeights(Sequential model, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such weights file.", path);
        using var stream = new MemoryStream(File.ReadAllBytes(path));
        ReadWeights(model, stream, path, "the weights file");
    }

    static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(bytes);
    }

    /// <summary>A layer's variables as Keras saves them: trainable ones, then the others (BatchNormalization: gamma, beta, moving_mean, moving_variance).</summary>
    static List<Variable> KerasOrder(Layer layer) => [.. layer.Weights.Where(w => w.Trainable), .. layer.Weights.Where(w => !w.Trainable)];

    /// <summary>
    /// For each of Keras's optimizer slots in order, the index into <see cref="Optimizer.GetState"/>. Keras creates
    /// Adam's momentum and velocity interleaved per weight (base_optimizer.py, add_optimizer_variables), then
    /// amsgrad's velocity_hat; this framework keeps them in blocks.
    /// </summary>
    static int[] SlotOrder(Optimizer optimizer, int weights, int slots)
    {
        var order = Enumerable.Range(0, slots).ToArray();
        if (optimizer is Adam && weights > 0 && slots >= 2 * weights)
            for (int i = 0; i < 2 * weights; i++) order[i] = i % 2 == 0 ? i / 2 : weights + i / 2;
        return order;
    }

    static JsonObject CompileConfig(Sequential model, Optimizer optimizer)
    {
        var settings = new JsonObject();
        foreach (var (key, value) in optimizer.GetConfig()) settings[key] = JsonSerializer.SerializeToNode(value);
        // What every Keras optimizer's get_config has besides, at the values this framework runs with.
        foreach (var (key, value) in new (string, JsonNode?)[] { ("clipnorm", null), ("global_clipnorm", null), ("use_ema", false), ("ema_momentum", 0.99),
            ("ema_overwrite_frequency", null), ("loss_scale_factor", null), ("gradient_accumulation_steps", null) })
            settings[key] ??= value;
        return new JsonObject
        {
            ["optimizer"] = new JsonObject
            {
                ["module"] = "keras.optimizers",
                ["class_name"] = optimizer.Name switch { "adam" => "Adam", "adamw" => "AdamW", "rmsprop" => "RMSprop", _ => "SGD" },
                ["config"] = settings,
                ["registered_name"] = null,
            },
            ["loss"] = model.LossIdentifier is { } name ? name : new JsonObject
            {
                ["module"] = "keras.losses",
                ["class_name"] = "SparseCategoricalCrossentropy",
                ["config"] = new JsonObject { ["name"] = "sparse_categorical_crossentropy", ["reduction"] = "sum_over_batch_size", ["from_logits"] = model.Loss!.FromLogits, ["ignore_class"] = null },
                ["registered_name"] = null,
            },
            ["loss_weights"] = null,
            ["metrics"] = new JsonArray([.. model.Metrics.Select(m => (JsonNode)m)]),
            ["weighted_metrics"] = null,
            ["run_eagerly"] = false,
            ["steps_per_execution"] = 1,
            ["jit_compile"] = false,
        };
    }

    public static Sequential Load(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var configEntry = zip.GetEntry(Config) ?? throw Bad(path, $"it has no {Config}");
        var weightsEntry = zip.GetEntry(Weights) ?? throw Bad(path, $"it has no {Weights} (only the .h5 weights format is read, not .npz)");
        JsonNode config;
        using (var reader = new StreamReader(configEntry.Open())) config = JsonNode.Parse(reader.ReadToEnd()) ?? throw Bad(path, $"{Config} is empty");
        var compile = config["compile_config"];
        // The config reader is strict about what it knows; compile_config is read here, after the layers.
        var modelConfig = config.DeepClone().AsObject();
        modelConfig.Remove("compile_config");
        Sequential model;
        try
        {
            model = ModelConfig.FromNode(modelConfig);
        }
        catch (ModelConfigException e)
        {
            throw Bad(path, $"its architecture cannot be built: {e.Message.TrimEnd('.')}");
        }

        var h5Bytes = new MemoryStream();
        using (var stream = weightsEntry.Open()) stream.CopyTo(h5Bytes);
        h5Bytes.Position = 0;
        try
        {
            if (compile is JsonObject { Count: > 0 }) // Keras writes an uncompiled model's as {}: loaded uncompiled, as Keras loads it
            {
                var (optimizer, loss, metrics) = ReadCompileConfig(compile, path);
                model.Compile(optimizer, loss, metrics);
                if (compile["loss"] is JsonValue name) model.LossIdentifier = (string?)name; // saved again as it was given
            }
            ReadWeights(model, h5Bytes, path, Weights);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Where Keras files each layer's variables: by class and position, not by the layer's name
    /// (keras/src/saving/saving_lib.py, _save_container_state: the snake-case class name, then _1, _2, ... for later
    /// layers of the same class in the container), so a model whose layers have names of their own is filed as any other.
    /// </summary>
    public static IReadOnlyList<string> StorageNames(Sequential model)
    {
        var used = new Dictionary<string, int>();
        return [.. model.Layers.Select(layer =>
        {
            string name = Layer.SnakeCase(LayerRegistry.ClassName(layer.GetType()));
            int n = used.TryGetValue(name, out int seen) ? seen + 1 : 0;
            used[name] = n;
            return n == 0 ? name : $"{name}_{n}";
        })];
    }

    /// <summary>Reads layers/CLASS[_N]/vars/I into the model's weights (shapes checked) and, when compiled, optimizer/vars into its optimizer.</summary>
    static void ReadWeights(Sequential model, Stream h5Bytes, string path, string what)
    {
        try
        {
            using var h5 = H5File.Open(h5Bytes);
            foreach (var (layer, storage) in model.Layers.Zip(StorageNames(model)))
            {
                var ordered = KerasOrder(layer);
                string group = $"layers/{storage}/vars";
                if (ordered.Count == 0) continue;
                if (!h5.LinkExists(group)) throw Bad(path, $"layer '{layer.Name}' ({LayerRegistry.ClassName(layer.GetType())}) has no weights in {what} (no '{group}')");
                var vars = h5.Group(group);
                int found = vars.Children().Count();
                if (found != ordered.Count) throw Bad(path, $"layer '{layer.Name}' has {found} weight(s) in {what}; the layer has {ordered.Count}");
                for (int i = 0; i < ordered.Count; i++)
                {
                    var dataset = vars.Dataset(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    var dims = dataset.Space.Dimensions.Select(d => (int)d).ToArray();
                    if (!dims.SequenceEqual(ordered[i].Shape))
                        throw Bad(path, $"layer '{layer.Name}' weight {i} ('{ordered[i].Name}') has shape ({string.Join(", ", dims)}) in {what}; the layer needs ({string.Join(", ", ordered[i].Shape)})");
                    ReadFloats(dataset, path, $"layer '{layer.Name}' weight {i} ('{ordered[i].Name}') in {what}").CopyTo(ordered[i].Value, 0);
                }
            }
            foreach (var layer in model.Layers) layer.OnWeightsChanged();

            if (model.Optimizer is { } optimizer && h5.LinkExists("optimizer/vars"))
            {
                var vars = h5.Group("optimizer/vars");
                int count = vars.Children().Count(), expected = optimizer.VariableCount(model.TrainableWeights);
                if (count != expected)
                {
                    // What Keras does (keras/src/optimizers/base_optimizer.py, load_own_variables): warn, and keep the
                    // optimizer as built (an optimizer saved before its first step holds its 2 scalars only).
                    Console.Error.WriteLine($"UserWarning: Skipping variable loading for optimizer '{optimizer.Name}', because it has {expected} variables whereas the saved optimizer has {count} variables. ");
                    return;
                }
                long iterations = ReadInteger(vars.Dataset("0"), path, $"the optimizer's iteration counter in {what}");
                var slots = Enumerable.Range(2, Math.Max(0, count - 2)).Select(i => ReadFloats(vars.Dataset(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), path, $"optimizer variable {i} in {what}")).ToList();
                var order = SlotOrder(optimizer, model.TrainableWeights.Count, slots.Count);
                var state = new float[slots.Count][];
                for (int i = 0; i < order.Length; i++) state[order[i]] = slots[i];
                try
                {
                    optimizer.SetState(model.TrainableWeights, state, iterations);
                }
                catch (InvalidDataException e)
                {
                    throw Bad(path, $"the optimizer's variables in {what} do not fit ({e.Message.TrimEnd('.')})");
                }
            }
        }
        catch (Exception e) when (e is not InvalidDataException && e is not OutOfMemoryException)
        {
            throw Bad(path, $"{what} cannot be read ({e.Message.TrimEnd('.')}); it is truncated or not an HDF5 file");
        }
    }

    /// <summary>
    /// An integer dataset of any width: the iteration counter is int64 in files Keras saves on TensorFlow and int32 on
    /// the torch and jax backends (the backend's default integer type).
    /// </summary>
    static long ReadInteger(IH5Dataset dataset, string path, string what) => (dataset.Type.Class, dataset.Type.Size) switch
    {
        (H5DataTypeClass.FixedPoint, 8) => dataset.Read<long>(),
        (H5DataTypeClass.FixedPoint, 4) => dataset.Read<int>(),
        (H5DataTypeClass.FixedPoint, 2) => dataset.Read<short>(),
        (H5DataTypeClass.FloatingPoint, 4 or 8) => (long)dataset.Read<double>(),
        var (type, size) => throw Bad(path, $"{what} is of HDF5 type {type} with {size} bytes, not an integer"),
    };

    /// <summary>Float values, of the float32 Keras writes or float64; any other type is named, not taken for damage.</summary>
    static float[] ReadFloats(IH5Dataset dataset, string path, string what) => (dataset.Type.Class, dataset.Type.Size) switch
    {
        (H5DataTypeClass.FloatingPoint, 4) => dataset.Read<float[]>(),
        (H5DataTypeClass.FloatingPoint, 8) => [.. dataset.Read<double[]>().Select(v => (float)v)],
        var (type, size) => throw Bad(path, $"{what} is of HDF5 type {type} with {size} bytes, not floating point"),
    };

    static (Optimizer, SparseCategoricalCrossentropy, string[]?) ReadCompileConfig(JsonNode compile, string path)
    {
        var optimizer = compile["optimizer"];
        string? className = optimizer is JsonValue ? (string?)optimizer : (string?)optimizer?["class_name"];
        var built = OptimizerConfig.Create(className, optimizer is JsonObject ? optimizer["config"] : null, why => Bad(path, why));
        var loss = compile["loss"];
        string? lossName = loss is JsonValue ? (string?)loss : (string?)loss?["class_name"];
        if (lossName is not ("sparse_categorical_crossentropy" or "SparseCategoricalCrossentropy"))
            throw Bad(path, $"the loss '{lossName}' is not supported here (sparse_categorical_crossentropy)");
        bool fromLogits = loss is JsonObject ? loss["config"]?["from_logits"] is JsonNode f && (bool)f : false;
        var metrics = compile["metrics"] is JsonArray list ? list.Select(m => (string?)m ?? throw Bad(path, "a metric is not a name")).ToArray() : null;
        return (built, new SparseCategoricalCrossentropy(fromLogits), metrics);
    }

    static InvalidDataException Bad(string path, string why) => new($"{path}: cannot load the model: {why}.");
}
