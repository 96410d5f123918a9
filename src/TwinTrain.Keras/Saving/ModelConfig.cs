using System.Text.Json;
using System.Text.Json.Nodes;
using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras.Saving;

/// <summary>
/// Keras 3's model config for a Sequential model: the JSON that model.to_json() returns and a .keras file holds as
/// config.json, {"class_name": "Sequential", "config": {"name": ..., "layers": [{"class_name": "InputLayer", ...}, ...]}}.
/// What Keras itself writes (module, registered_name, build_config, compile_config, dtype policies, initializer
/// objects) is accepted; a layer or option this framework does not implement is refused, naming the layer.
/// </summary>
public static class ModelConfig
{
    /// <summary>The model the config describes, with initial weights drawn from <paramref name="seed"/>.</summary>
    public static Sequential FromJson(string json, int seed = 0)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
        }
        catch (JsonException e)
        {
            throw new ModelConfigException($"not valid JSON ({e.Message})");
        }
        return FromNode(root, seed);
    }

    public static Sequential FromNode(JsonNode? root, int seed = 0)
    {
        if (root is not JsonObject model) throw new ModelConfigException("a model config must be a JSON object");
        string className = Text(model["class_name"]) ?? throw new ModelConfigException("the config has no 'class_name' (expected \"Sequential\")");
        if (className != "Sequential")
            throw new ModelConfigException($"the model is a '{className}'; only Sequential models are supported");
        if (model["config"] is not JsonObject config) throw new ModelConfigException("the config has no 'config' object");
        if (config["layers"] is not JsonArray entries) throw new ModelConfigException("the config has no 'layers' list");

        int[]? inputShape = null;
        var layers = new List<Layer>();
        var configs = new List<LayerConfig>();
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i] is not JsonObject entry || Text(entry["class_name"]) is not { } layerClass)
                throw new ModelConfigException($"layer {i}: expected an object with a 'class_name'");
            var layerConfig = new LayerConfig(entry["config"] as JsonObject ?? [], i, layerClass);
            if (layerClass == "InputLayer")
            {
                if (layers.Count > 0 || inputShape is not null) throw layerConfig.Error("an InputLayer must come first");
                inputShape = layerConfig.DeclaredInputShape() ?? throw layerConfig.Error("an InputLayer needs 'batch_shape', e.g. [null, 32, 32, 3]");
                layerConfig.Only("sparse", false, "only dense inputs");
                layerConfig.Only("ragged", false, "only dense inputs");
                layerConfig.Only("optional", false, "only required inputs");
                layerConfig.EnsureAllRead();
                continue;
            }
            if (layers.Count == 0 && inputShape is null) inputShape = layerConfig.DeclaredInputShape();
            layers.Add(LayerRegistry.Create(layerConfig));
            configs.Add(layerConfig);
        }
        if (layers.Count == 0) throw new ModelConfigException("the model has no layers");
        inputShape ??= Shape(config["build_input_shape"]) ?? Shape(model["build_config"]?["input_shape"])
            ?? throw new ModelConfigException("the config declares no input shape (an InputLayer with batch_shape, or build_config.input_shape)");
        return Build(seed, inputShape, layers, configs, Text(config["name"]));
    }

    static Sequential Build(int seed, int[] inputShape, List<Layer> layers, List<LayerConfig> configs, string? name)
    {
        if (inputShape.Length == 0 || inputShape.Any(d => d < 1))
            throw new ModelConfigException($"the input shape ({string.Join(", ", inputShape)}) must have sizes of at least 1");
        try
        {
            return new Sequential(seed, inputShape, layers, name);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException && e.Data[Sequential.LayerIndexKey] is int index)
        {
            throw configs[index].Error(e.Message.TrimEnd('.'));
        }
    }

    static int[]? Shape(JsonNode? node) => node is JsonArray { Count: >= 2 } a && a[0] is null && a.Skip(1).All(d => d is JsonValue)
        ? [.. a.Skip(1).Select(d => (int)d!)]
        : null;

    static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    /// <summary>The model's Keras config, as model.to_json() writes it.</summary>
    public static JsonObject ToNode(Sequential model)
    {
        int[] shape = model.InputShape;
        JsonNode Batch(int[] s) => new JsonArray([null, .. s.Select(d => (JsonNode)d)]);
        var layers = new JsonArray
        {
            new JsonObject
            {
                ["module"] = "keras.layers",
                ["class_name"] = "InputLayer",
                ["config"] = new JsonObject
                {
                    ["batch_shape"] = Batch(shape),
                    ["dtype"] = "float32",
                    ["sparse"] = false,
                    ["ragged"] = false,
                    ["name"] = "input_layer",
                    ["optional"] = false,
                },
                ["registered_name"] = null,
            },
        };
        foreach (var layer in model.Layers)
        {
            var entry = new JsonObject
            {
                ["module"] = "keras.layers",
                ["class_name"] = LayerRegistry.ClassName(layer.GetType()),
                ["config"] = JsonSerializer.SerializeToNode(layer.GetConfig()),
                ["registered_name"] = null,
            };
            // Keras records a build_config only for layers whose build creates state (keras/src/layers/layer.py,
            // get_build_config: _build_shapes_dict is set by a build of their own); pooling, ReLU, Flatten, Dropout have none.
            if (layer.Weights.Count > 0) entry["build_config"] = new JsonObject { ["input_shape"] = Batch(layer.InputShape) };
            layers.Add(entry);
        }
        return new JsonObject
        {
            ["module"] = "keras",
            ["class_name"] = "Sequential",
            ["config"] = new JsonObject
            {
                ["name"] = model.Name,
                ["trainable"] = true,
                ["dtype"] = JsonSerializer.SerializeToNode(KerasObjects.DtypePolicy),
                ["layers"] = layers,
                // Sequential.get_config of a built model (keras/src/models/sequential.py): the InputLayer's batch_shape.
                ["build_input_shape"] = Batch(shape),
            },
            ["registered_name"] = null,
            ["build_config"] = new JsonObject { ["input_shape"] = Batch(shape) },
        };
    }

    public static string ToJson(Sequential model, bool indented = true) =>
        ToNode(model).ToJsonString(new JsonSerializerOptions { WriteIndented = indented });
}
