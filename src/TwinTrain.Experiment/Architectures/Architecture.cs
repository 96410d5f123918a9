using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TwinTrain.Data;
using TwinTrain.Keras;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Experiment.Architectures;

/// <summary>
/// The network both frameworks train, defined once as a Keras 3 model config: a built-in preset by name (kept as a
/// JSON resource in Presets/) or a config file (.json, as model.to_json() writes it, or a .keras file's config.json).
/// Everything downstream derives from it: the Keras-style model, the TorchSharp module, the weight conversion, the
/// ONNX export, the benchmark and the report.
/// </summary>
public sealed class Architecture
{
    public const string Default = "study";
    public static IReadOnlyList<string> Presets { get; } = ["study", "cifar-bn", "cifar-strided"];

    /// <summary>The file a run folder keeps its architecture in (the Keras config as TwinTrain writes it).</summary>
    public const string FileName = "model.json";

    Architecture(string name, string source, JsonNode config)
    {
        Name = name;
        Source = source;
        Config = config;
        // Build once now, so a config that cannot be built fails before anything is trained or written.
        using var model = Build(seed: 0);
        InputShape = model.InputShape;
        OutputSize = model.OutputSize;
        Parameters = model.ParameterCount;
        TrainableParameters = model.TrainableParameterCount;
        Summary = model.Summary(lineLength: 76); // Keras's width on an 80-column terminal, the same on every machine
        Digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ModelConfig.ToJson(model, indented: false))));
        // The preset as it is, or the same structure (input shape included): the study's preset fitted to 28x28x1
        // images is another network.
        IsStudy = (IsPreset && Name == Default) || StructureOf(model) == StudyStructure.Value;
        _torch = new Lazy<(TorchTranslation?, string?)>(() =>
        {
            using var built = Build(seed: 0);
            try
            {
                return (new TorchTranslation(built, IsStudy), null);
            }
            catch (NotSupportedException e)
            {
                return (null, e.Message);
            }
        });
    }

    readonly Lazy<(TorchTranslation? Translation, string? Problem)> _torch;

    /// <summary>
    /// The PyTorch-style model of this architecture: its modules, state_dict keys and the settings translated. Only the
    /// frameworks (and files) that need it ask for it, so a network without one still trains with -f keras; for them,
    /// one error naming the config and the layer.
    /// </summary>
    public TorchTranslation Torch => _torch.Value.Translation ?? throw new InvalidDataException($"{Source}: {_torch.Value.Problem}");

    /// <summary>Why the architecture has no PyTorch translation; null when it has one.</summary>
    public string? TorchProblem => _torch.Value.Problem;

    /// <summary>The Keras-style model's summary table.</summary>
    public string Summary { get; }

    /// <summary>SHA-256 of the config as TwinTrain writes it: runs of one architecture have the same digest, whatever the file was called.</summary>
    public string Digest { get; }

    /// <summary>Writes the config into a run folder as <see cref="FileName"/> (atomically), so the folder says what it trained.</summary>
    public void WriteTo(string folder) => Reporting.RunFiles.WriteAtomically(System.IO.Path.Combine(folder, FileName),
        Config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));

    /// <summary>The architecture a run folder trained: its <see cref="FileName"/>, or (for folders from before model configs) the study's.</summary>
    public static Architecture OfRunFolder(string folder, string recordedName)
    {
        string path = System.IO.Path.Combine(folder, FileName);
        if (!File.Exists(path)) return Presets.Contains(recordedName) ? Resolve(recordedName) : Study;
        return FromFile(recordedName, path);
    }

    /// <summary>The architecture a run recorded (its name and config), so a resumed run needs no other file.</summary>
    public static Architecture FromRecorded(string name, JsonNode config)
    {
        try
        {
            return new Architecture(name, name, config.DeepClone());
        }
        catch (ModelConfigException e)
        {
            throw new InvalidDataException($"{name}: {e.Message}");
        }
    }

    /// <summary>A preset as it is built in (not fitted to a data set, not read from a file of the same name).</summary>
    bool IsPreset => Source == $"preset '{Name}'";

    /// <summary>The preset's name, or the path of the config file.</summary>
    public string Name { get; }
    /// <summary>Where the config came from, for messages: "preset 'study'" or the file's path.</summary>
    public string Source { get; }
    public JsonNode Config { get; }
    public int[] InputShape { get; }

    /// <summary>The images the network takes (height, width, channels), or null when its input is not an image.</summary>
    public ImageShape? ImageShape => InputShape is [int height, int width, int channels] ? new ImageShape(height, width, channels) : null;
    public int OutputSize { get; }
    public long Parameters { get; }
    public long TrainableParameters { get; }

    /// <summary>Whether this is the study's CNN (its preset, or a config of the same layers): then the study's names and listings apply.</summary>
    public bool IsStudy { get; }

    public static Architecture Study { get; } = Resolve(Default);

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> BatchNormOf = new();

    /// <summary>Whether the architecture named (a preset or a config file) has a BatchNormalization layer; true when it cannot be read (the error comes where it is built).</summary>
    public static bool HasBatchNormalization(string nameOrPath) => BatchNormOf.GetOrAdd(nameOrPath, arch =>
    {
        try
        {
            using var model = Resolve(arch).Build(seed: 0);
            return model.Layers.Any(l => l is BatchNormalization);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or IOException)
        {
            return true;
        }
    });

    /// <summary>PyTorch's own BatchNorm2d/BatchNorm1d constants: momentum 0.1 (the new batch's weight; Keras's 0.9) and eps 1e-5.</summary>
    public const double PyTorchBatchNormMomentum = 0.1, PyTorchBatchNormEpsilon = 1e-5;

    /// <summary>
    /// The network as a PyTorch user's code trains it: natively with PyTorch's own BatchNormalization constants (a
    /// user writes nn.BatchNorm2d(c)), with --align bn the config's. See <see cref="WithPyTorchBatchNormDefaults"/>.
    /// </summary>
    public Architecture AsPyTorchUsersTrainIt(TrainingConfig config) =>
        config.BatchNorm == BatchNormConstants.Native ? WithPyTorchBatchNormDefaults() : this;

    /// <summary>
    /// This network with PyTorch's BatchNormalization constants (<see cref="PyTorchBatchNormMomentum"/>,
    /// <see cref="PyTorchBatchNormEpsilon"/>) in place of the config's: what a PyTorch user's nn.BatchNorm2d(c) trains,
    /// written as a Keras config (momentum 0.9), so that its files, evaluation, export and conversion say what was
    /// trained. The same architecture when it has no BatchNormalization layer.
    /// </summary>
    public Architecture WithPyTorchBatchNormDefaults()
    {
        var config = Config.DeepClone();
        bool changed = false;
        foreach (var layer in config["config"]?["layers"]?.AsArray() ?? [])
        {
            if (layer?["class_name"]?.GetValue<string>() != "BatchNormalization" || layer["config"] is not JsonObject options) continue;
            // In decimal, so that 1 - 0.1 is 0.9 and not 0.9000000000000000222.
            options["momentum"] = (double)(1m - (decimal)PyTorchBatchNormMomentum);
            options["epsilon"] = PyTorchBatchNormEpsilon;
            changed = true;
        }
        return changed ? new Architecture(Name, Source, config) : this; // the same file for messages: only constants differ
    }

    /// <summary>A preset by name, or a config file (.json or .keras) by path; a bad config is one error naming the file and the layer.</summary>
    public static Architecture Resolve(string nameOrPath)
    {
        if (Presets.Contains(nameOrPath)) return new Architecture(nameOrPath, $"preset '{nameOrPath}'", PresetConfig(nameOrPath));
        if (!File.Exists(nameOrPath))
            throw new FileNotFoundException($"{nameOrPath}: no such model config file (or preset; presets: {string.Join(", ", Presets)}).", nameOrPath);
        return FromFile(nameOrPath, nameOrPath);
    }

    /// <summary>The config in <paramref name="path"/>, under <paramref name="name"/>; a bad one is an error naming the file.</summary>
    static Architecture FromFile(string name, string path)
    {
        try
        {
            return new Architecture(name, path, ParseFile(path));
        }
        catch (ModelConfigException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}");
        }
    }

    static JsonNode ParseFile(string path)
    {
        string json;
        if (path.EndsWith(".keras", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                using var zip = ZipFile.OpenRead(path);
                var entry = zip.GetEntry("config.json") ?? throw new ModelConfigException("a .keras file must hold config.json");
                using var reader = new StreamReader(entry.Open());
                json = reader.ReadToEnd();
            }
            catch (InvalidDataException e)
            {
                throw new ModelConfigException($"not a readable .keras (zip) file ({e.Message})");
            }
        }
        else json = File.ReadAllText(path);
        try
        {
            return JsonNode.Parse(json) ?? throw new ModelConfigException("the file holds JSON null, not a model config");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ModelConfigException($"not valid JSON ({e.Message})");
        }
    }

    static JsonNode PresetConfig(string name)
    {
        using var stream = typeof(Architecture).Assembly.GetManifestResourceStream($"arch/{name}.json")
            ?? throw new InvalidOperationException($"The preset {name} is missing from the assembly.");
        return JsonNode.Parse(stream)!;
    }

    static readonly Lazy<string> StudyStructure = new(() =>
    {
        using var study = ModelConfig.FromNode(PresetConfig(Default));
        return StructureOf(study);
    });

    /// <summary>The layer classes and options without names: two configs of the same network compare equal.</summary>
    static string StructureOf(Sequential model)
    {
        return string.Join("|", model.Layers.Select(l =>
        {
            var options = l.GetConfig();
            options.Remove("name");
            return LayerRegistry.ClassName(l.GetType()) + System.Text.Json.JsonSerializer.Serialize(options);
        })) + "|" + string.Join(",", model.InputShape);
    }

    /// <summary>The Keras-style model of this architecture with initial weights from <paramref name="seed"/> (not compiled).</summary>
    public Sequential Build(int seed)
    {
        try
        {
            return ModelConfig.FromNode(Config, seed);
        }
        catch (ModelConfigException e)
        {
            throw new InvalidDataException($"{Source}: {e.Message}");
        }
    }

    /// <summary>Refuses an architecture whose input is not the data's images or whose output is not one score per class.</summary>
    public void CheckFits(int height, int width, int channels, int classes)
    {
        if (!InputShape.SequenceEqual([height, width, channels]))
            throw new InvalidDataException($"{Source}: the model takes input {Layer.Format(InputShape)} but the data's images are (None, {height}, {width}, {channels}); set the InputLayer's batch_shape to [null, {height}, {width}, {channels}].");
        if (OutputSize != classes)
            throw new InvalidDataException($"{Source}: the model's last layer gives {OutputSize} outputs but the data has {classes} classes.");
    }

    /// <summary>
    /// The architecture for <paramref name="data"/>: a preset takes the data's image shape and class count (its input
    /// layer's shape and its last Dense layer's units, as a Keras user would set them); a config file must already fit,
    /// else one error names both.
    /// </summary>
    public Architecture ForData(DatasetInfo data)
    {
        bool fits = InputShape.SequenceEqual(data.Shape.ChannelsLast) && OutputSize == data.Classes;
        if (fits || !IsPreset)
        {
            CheckFits(data.Shape.Height, data.Shape.Width, data.Shape.Channels, data.Classes);
            return this;
        }
        var config = Config.DeepClone();
        var layers = config["config"]?["layers"]?.AsArray() ?? throw new InvalidOperationException($"{Source} has no layers.");
        layers[0]!["config"]!["batch_shape"] = new JsonArray(null, data.Shape.Height, data.Shape.Width, data.Shape.Channels);
        var lastDense = layers.Last(l => l?["class_name"]?.GetValue<string>() == "Dense")!;
        lastDense["config"]!["units"] = data.Classes;
        // The shapes each layer was built with follow from the input: drop the preset's, the model rebuilds them.
        foreach (var layer in layers) (layer as JsonObject)?.Remove("build_config");
        (config as JsonObject)?.Remove("build_config");
        (config["config"] as JsonObject)?.Remove("build_input_shape");
        var adapted = new Architecture(Name, $"preset '{Name}' for {(data.IsImageFolder ? $"the image folder '{data.Title}'" : data.Name)} ({data.Shape}, {data.Classes} classes)", config);
        adapted.CheckFits(data.Shape.Height, data.Shape.Width, data.Shape.Channels, data.Classes);
        return adapted;
    }
}
