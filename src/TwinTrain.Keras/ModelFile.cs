using System.IO.Compression;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Losses;
using TwinTrain.Keras.Optimizers;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras;

/// <summary>
/// The saved-model format: a zip holding config.json (architecture as layer class names and configs, compile
/// settings, and the name and shape of every weight) and weights.bin (all weights as little-endian float32, in order).
/// </summary>
internal static class ModelFile
{
    const string Format = "twintrain-keras";
    const int Version = 1;

    public static void Save(Sequential model, string path)
    {
        var config = new JsonObject
        {
            ["format"] = Format,
            ["version"] = Version,
            ["class_name"] = "Sequential",
            ["name"] = model.Name,
            ["seed"] = model.Seed,
            ["input_shape"] = new JsonArray([.. model.InputShape.Select(d => (JsonNode)d)]),
            ["layers"] = new JsonArray([.. model.Layers.Select(l => (JsonNode)new JsonObject
            {
                ["class_name"] = LayerRegistry.ClassName(l.GetType()),
                ["config"] = JsonSerializer.SerializeToNode(l.GetConfig()),
            })]),
            ["weights"] = new JsonArray([.. model.Layers.SelectMany(l => l.Weights.Select(w => (JsonNode)new JsonObject
            {
                ["layer"] = l.Name,
                ["name"] = w.Name,
                ["shape"] = new JsonArray([.. w.Shape.Select(d => (JsonNode)d)]),
            }))]),
        };
        if (model.Optimizer is not null)
        {
            config["compile"] = new JsonObject
            {
                ["optimizer"] = JsonSerializer.SerializeToNode(model.Optimizer.GetConfig()),
                ["optimizer_iterations"] = model.Optimizer.Iterations,
                ["optimizer_state_arrays"] = new JsonArray([.. model.Optimizer.GetState().Select(a => (JsonNode)a.Length)]),
                ["loss"] = new JsonObject { ["name"] = model.Loss!.Name, ["from_logits"] = model.Loss.FromLogits },
                ["metrics"] = new JsonArray([.. model.Metrics.Select(m => (JsonNode)m)]),
            };
        }

        // A temporary file renamed into place once it is on disk: a crash leaves the old file or the new one.
        TwinTrain.Data.AtomicFile.Write(path, file =>
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);
            WriteEntries(zip, model, config);
        });
    }

    static void WriteEntries(ZipArchive zip, Sequential model, JsonObject config)
    {
        using (var writer = new StreamWriter(zip.CreateEntry("config.json").Open()))
            writer.Write(config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        using (var weights = zip.CreateEntry("weights.bin", CompressionLevel.NoCompression).Open())
            foreach (var w in model.Weights) weights.Write(MemoryMarshal.AsBytes(w.Value.AsSpan()));
        if (model.Optimizer is { } optimizer && optimizer.GetState().Count > 0)
        {
            using var state = zip.CreateEntry("optimizer.bin", CompressionLevel.NoCompression).Open();
            foreach (var slot in optimizer.GetState()) state.Write(MemoryMarshal.AsBytes(slot.AsSpan()));
        }
    }

    public static Sequential Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file.", path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var configEntry = zip.GetEntry("config.json") ?? throw Bad(path, "it has no config.json");
            JsonNode config;
            using (var reader = new StreamReader(configEntry.Open())) config = JsonNode.Parse(reader.ReadToEnd()) ?? throw Bad(path, "config.json is empty");
            if ((string?)config["format"] != Format) throw Bad(path, "it is not a TwinTrain Keras-style model");
            if ((int?)config["version"] != Version) throw Bad(path, $"it has format version {config["version"]}; this build reads {Version}");

            int[] inputShape = config["input_shape"]!.AsArray().Select(d => (int)d!).ToArray();
            var layers = config["layers"]!.AsArray().Select((l, i) => LayerRegistry.Create(new LayerConfig(l!["config"]!.AsObject(), i, (string)l["class_name"]!))).ToArray();
            var model = new Sequential((int?)config["seed"] ?? 0, inputShape, layers, (string?)config["name"]);

            var declared = config["weights"]!.AsArray();
            var variables = model.Weights;
            if (declared.Count != variables.Count) throw Bad(path, $"config.json lists {declared.Count} weights but the architecture has {variables.Count}");
            var weightsEntry = zip.GetEntry("weights.bin") ?? throw Bad(path, "it has no weights.bin");
            long expected = variables.Sum(v => (long)v.Size) * 4;
            if (weightsEntry.Length != expected) throw Bad(path, $"weights.bin holds {weightsEntry.Length} bytes; the architecture needs {expected} (truncated or another model)");
            using (var stream = weightsEntry.Open())
            {
                var crc = new Crc32();
                foreach (var v in variables)
                {
                    var bytes = MemoryMarshal.AsBytes(v.Value.AsSpan());
                    stream.ReadExactly(bytes);
                    crc.Append(bytes);
                }
                CheckCrc(weightsEntry, crc, path);
            }
            foreach (var layer in model.Layers) layer.OnWeightsChanged();

            if (config["compile"] is JsonNode compile)
            {
                var loss = new SparseCategoricalCrossentropy((bool?)compile["loss"]?["from_logits"] ?? false);
                model.Compile(CreateOptimizer(compile["optimizer"]!), loss,
                    compile["metrics"]?.AsArray().Select(m => (string)m!).ToArray() is { Length: > 0 } metrics ? metrics : null);
                var sizes = compile["optimizer_state_arrays"]?.AsArray().Select(n => (int)n!).ToArray() ?? [];
                var state = new List<float[]>();
                if (sizes.Length > 0)
                {
                    var entry = zip.GetEntry("optimizer.bin") ?? throw Bad(path, "config.json lists optimizer state but there is no optimizer.bin");
                    if (entry.Length != sizes.Sum(s => 4L * s)) throw Bad(path, $"optimizer.bin holds {entry.Length} bytes; the config says {sizes.Sum(s => 4L * s)} (truncated?)");
                    using var stream = entry.Open();
                    var crc = new Crc32();
                    foreach (int size in sizes)
                    {
                        var slot = new float[size];
                        stream.ReadExactly(MemoryMarshal.AsBytes(slot.AsSpan()));
                        crc.Append(MemoryMarshal.AsBytes(slot.AsSpan()));
                        state.Add(slot);
                    }
                    CheckCrc(entry, crc, path);
                }
                model.Optimizer!.SetState(model.TrainableWeights, state, (long?)compile["optimizer_iterations"] ?? 0);
            }
            return model;
        }
        catch (ModelConfigException e)
        {
            throw Bad(path, $"its architecture cannot be built: {e.Message.TrimEnd('.')}");
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or EndOfStreamException or NullReferenceException or InvalidOperationException or FormatException)
        {
            throw e is InvalidDataException { Message: var m } && m.StartsWith(path, StringComparison.Ordinal)
                ? e
                : Bad(path, $"it is damaged or not a model file ({e.Message})");
        }
    }

    /// <summary>The zip reader does not check an entry's CRC-32: check it here, so damaged weights are an error, not a model.</summary>
    static void CheckCrc(ZipArchiveEntry entry, Crc32 crc, string path)
    {
        if (crc.GetCurrentHashAsUInt32() != entry.Crc32)
            throw Bad(path, $"{entry.FullName} is damaged (its CRC-32 does not match)");
    }

    static InvalidDataException Bad(string path, string why) => new($"{path}: cannot load the model: {why}.");

    static Optimizer CreateOptimizer(JsonNode c) => OptimizerConfig.Create((string?)c["name"], c, why => new InvalidDataException(why));
}
