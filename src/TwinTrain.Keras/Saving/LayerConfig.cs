using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TwinTrain.Keras.Saving;

/// <summary>
/// One layer's entry of a Keras model config, read the way Keras's constructors read their arguments: an option left
/// out takes Keras's default, and an option present with a value this framework does not implement is refused with
/// the layer's index, name and the option. Every option must be read: <see cref="EnsureAllRead"/> refuses the rest,
/// so nothing in a config is silently ignored.
/// </summary>
public sealed class LayerConfig
{
    readonly JsonObject _config;
    readonly HashSet<string> _read = [];

    public LayerConfig(JsonObject config, int index, string className)
    {
        _config = config;
        Index = index;
        ClassName = className;
        Name = config["name"] is JsonValue v && v.TryGetValue(out string? name) ? name : null;
        _read.Add("name");
        // What every Keras layer writes: trainable (only true is supported) and its dtype policy (float32).
        if (!Bool("trainable", true)) throw Unsupported("trainable", "false", "only trainable layers are supported");
        ReadDtype();
    }

    public int Index { get; }
    public string ClassName { get; }
    public string? Name { get; }

    /// <summary>Where the message says which layer it is about: index, name and class.</summary>
    public string Where => $"layer {Index} '{Name ?? "?"}' ({ClassName})";

    public ModelConfigException Error(string problem) => new($"{Where}: {problem}.");

    ModelConfigException Unsupported(string key, string value, string why) => Error($"option '{key}' = {value} is not supported ({why})");

    JsonNode? Take(string key)
    {
        _read.Add(key);
        return _config[key];
    }

    public bool Has(string key) => _config.ContainsKey(key);

    /// <summary>A required integer option.</summary>
    public int Int(string key, int minimum = 1) =>
        Has(key) && _config[key] is not null ? Int(key, 0, minimum) : throw Error($"option '{key}' is required");

    public int Int(string key, int fallback, int minimum = 1)
    {
        var node = Take(key);
        if (node is null) return fallback;
        int value = AsInt(key, node);
        if (value < minimum) throw Error($"option '{key}' must be at least {minimum}, not {value}");
        return value;
    }

    /// <summary>An integer option that may be null (as a seed: null means "draw one").</summary>
    public int? IntOrNull(string key, int minimum = 1) => _config[key] is null ? Consumed<int?>(key, null) : Int(key, 0, minimum);

    /// <summary>An int or a pair of ints (Keras accepts both for sizes and strides).</summary>
    /// <summary>A required int-or-pair option.</summary>
    public (int, int) Pair(string key) =>
        Has(key) && _config[key] is not null ? Pair(key, (0, 0)) : throw Error($"option '{key}' is required");

    public (int, int) Pair(string key, (int, int) fallback, int minimum = 1)
    {
        var node = Take(key);
        if (node is null) return fallback;
        (int, int) pair = node switch
        {
            JsonArray { Count: 2 } a => (AsInt(key, a[0]), AsInt(key, a[1])),
            JsonValue => (AsInt(key, node), AsInt(key, node)),
            _ => throw Error($"option '{key}' must be an int or a pair of ints, not {node.ToJsonString()}"),
        };
        if (pair.Item1 < minimum || pair.Item2 < minimum)
            throw Error($"option '{key}' must be at least {minimum} in each dimension, not {node.ToJsonString()}");
        return pair;
    }

    /// <summary>Like <see cref="Pair"/>, but null stands for <paramref name="whenNull"/> (pooling strides default to the pool size).</summary>
    public (int, int) PairOrNull(string key, (int, int) whenNull) => _config[key] is null ? Consumed(key, whenNull) : Pair(key, whenNull);

    T Consumed<T>(string key, T value)
    {
        _read.Add(key);
        return value;
    }

    public double Double(string key, double fallback, double minimum = double.NegativeInfinity, double below = double.PositiveInfinity)
    {
        var node = Take(key);
        if (node is null) return fallback;
        if (Number(node) is not double value)
            throw Error($"option '{key}' must be a number, not {node.ToJsonString()}");
        if (!(value >= minimum && value < below) || !double.IsFinite(value))
            throw Error($"option '{key}' = {value.ToString(CultureInfo.InvariantCulture)} is out of range");
        return value;
    }

    public bool Bool(string key, bool fallback)
    {
        var node = Take(key);
        if (node is null) return fallback;
        if (node is JsonValue v && v.TryGetValue(out bool value)) return value;
        throw Error($"option '{key}' must be true or false, not {node.ToJsonString()}");
    }

    public string String(string key, string fallback, params string[] allowed)
    {
        var node = Take(key);
        if (node is null) return fallback;
        if (node is not JsonValue v || !v.TryGetValue(out string? value))
            throw Error($"option '{key}' must be a string, not {node.ToJsonString()}");
        if (allowed.Length > 0 && !allowed.Contains(value, StringComparer.OrdinalIgnoreCase))
            throw Unsupported(key, $"'{value}'", $"expected {string.Join(" or ", allowed.Select(a => $"'{a}'"))}");
        return value.ToLowerInvariant();
    }

    /// <summary>An activation by name (Keras 3 writes its built-ins as strings); null and "linear" are linear.</summary>
    public string Activation(string key, params string[] allowed)
    {
        var node = Take(key);
        string? name = node switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? s) => s,
            // Older configs serialize a built-in as {"class_name": "function", "config": "relu", ...}.
            JsonObject o when o["config"] is JsonValue c && c.TryGetValue(out string? s) => s,
            _ => throw Error($"option '{key}' must name an activation, not {node.ToJsonString()}"),
        };
        name = string.IsNullOrEmpty(name) ? "linear" : name.ToLowerInvariant();
        if (!allowed.Contains(name)) throw Unsupported(key, $"'{name}'", $"supported: {string.Join(", ", allowed)}");
        return name;
    }

    /// <summary>An option this framework implements only at one value (Keras's default): absent, null or that value.</summary>
    public void Only(string key, JsonNode? supported, string why)
    {
        var node = Take(key);
        if (node is null || JsonNode.DeepEquals(node, supported)) return;
        if (Number(node) is double x && Number(supported) is double y && x == y) return;
        if (supported is not null && node is JsonValue && supported is JsonArray { Count: 2 } pair && JsonNode.DeepEquals(node, pair[0]) && JsonNode.DeepEquals(pair[0], pair[1])) return;
        throw Unsupported(key, node.ToJsonString(), why);
    }

    /// <summary>An option this framework does not implement at all: it must be absent or null.</summary>
    public void Absent(string key, string why) => Only(key, null, why);

    /// <summary>An initializer that must be Keras's default one (the frameworks' initialisations are compared as defaults).</summary>
    public void Initializer(string key, string className)
    {
        var node = Take(key);
        string? given = node switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonObject o => (string?)o["class_name"],
            _ => "?",
        };
        if (given is null) return;
        string Normal(string s) => s.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        if (Normal(given) != Normal(className))
            throw Unsupported(key, node!.ToJsonString(), $"only {className} is supported");
        if (node is JsonObject { } initializer && initializer["config"] is JsonObject c && c.Any(p => p.Value is not null && p.Key != "seed"))
            throw Unsupported(key, node.ToJsonString(), $"only {className} with its default arguments is supported");
    }

    /// <summary>The batch shape a layer may declare (Keras 3 InputLayer's batch_shape, Keras 2's batch_input_shape), without the batch.</summary>
    public int[]? DeclaredInputShape()
    {
        foreach (string key in new[] { "batch_shape", "batch_input_shape" })
        {
            var node = Take(key);
            if (node is null) continue;
            if (node is not JsonArray { Count: >= 2 } a || a[0] is not null)
                throw Error($"option '{key}' must be [null, dim, ...], not {node.ToJsonString()}");
            return [.. a.Skip(1).Select(d => d is null ? throw Error($"option '{key}' has an unknown dimension ({node.ToJsonString()}); every size but the batch must be given") : AsInt(key, d))];
        }
        return null;
    }

    /// <summary>Refuses any option no reader asked for: an option TwinTrain does not know would otherwise be ignored.</summary>
    public void EnsureAllRead()
    {
        var unknown = _config.Select(p => p.Key).Where(k => !_read.Contains(k)).ToArray();
        if (unknown.Length > 0)
            throw Error($"option{(unknown.Length > 1 ? "s" : "")} {string.Join(", ", unknown.Select(k => $"'{k}'"))} {(unknown.Length > 1 ? "are" : "is")} not supported");
    }

    void ReadDtype()
    {
        var node = Take("dtype");
        string? dtype = node switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonObject o => (string?)o["config"]?["name"],
            _ => "?",
        };
        if (dtype is not null and not "float32") throw Unsupported("dtype", node!.ToJsonString(), "only float32 is supported");
    }

    /// <summary>A JSON number's value, whether the node was parsed from text or made from a .NET int or double.</summary>
    static double? Number(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
        ? double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture)
        : null;

    int AsInt(string key, JsonNode? node)
    {
        if (Number(node) is double d && d == Math.Floor(d))
        {
            if (d > int.MaxValue || d < int.MinValue) throw Error($"option '{key}' = {node!.ToJsonString()} is too large");
            return (int)d;
        }
        throw Error($"option '{key}' must be an integer, not {node?.ToJsonString() ?? "null"}");
    }
}
