using System.Globalization;
using System.Text.Json.Nodes;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Data.Formats;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Frameworks.Torch;

namespace TwinTrain.Frameworks.PyTorch;

/// <summary>
/// The real PyTorch (Python), in a worker process (workers/pytorch, docs/worker-protocol.md): the same modules the
/// TorchSharp side builds from the architecture, the study's plain loop, fed the very bytes the other frameworks get
/// and each epoch's sample order from TwinTrain. Its timings are the worker's own clock, its memory the worker's peak.
/// </summary>
public sealed class PyTorchFramework : IFramework
{
    public const string FrameworkName = "pytorch";

    readonly WorkerProcess _worker;
    readonly TrainingConfig _config;
    readonly Architecture _architecture;
    readonly ImageSet _train;
    readonly Dictionary<ImageSet, string> _splits = new(ReferenceEqualityComparer.Instance);
    string _modelFile = "model.pt", _optimizerFile = "optimizer.pt";

    public Architecture? Network { get; }

    /// <summary>Where the worker's Python package is: beside TwinTrain's assemblies (copied there by the build).</summary>
    public static string WorkerFolder => Path.Combine(AppContext.BaseDirectory, "workers", "pytorch");

    public PyTorchFramework(TrainingConfig config, ImageSet train, Architecture architecture)
    {
        _config = config;
        var network = architecture.AsPyTorchUsersTrainIt(config);
        Network = network == architecture ? null : network;
        architecture = network;
        _architecture = architecture;
        _train = train;
        string python = PythonLocator.Find();
        if (!File.Exists(Path.Combine(WorkerFolder, "twintrain_worker", "worker.py")))
            throw new WorkerException($"pytorch: the worker's Python package is missing from {WorkerFolder} (it is copied there by the build).");
        (_worker, var hello) = WorkerProcess.Start(FrameworkName, python, ["-m", "twintrain_worker"], WorkerFolder);
        try
        {
            Versions = hello["versions"] is JsonObject versions
                ? versions.ToDictionary(v => v.Key, v => v.Value?.ToString() ?? "?") : new Dictionary<string, string>();
            Load("train", train);
            var build = new JsonObject
            {
                ["modules"] = architecture.Torch.ModuleSpecs(),
                ["optimizer"] = config.Optimizer == TrainingOptimizer.Sgd
                    ? new JsonObject { ["name"] = "sgd", ["lr"] = config.LearningRate, ["momentum"] = config.Momentum }
                    // torch.optim.Adam's own epsilon (1e-8, after the bias correction) is what --align epsilon asks of every framework.
                    : new JsonObject { ["name"] = "adam", ["lr"] = config.LearningRate },
                ["seed"] = config.Seed,
                ["threads"] = config.Threads,
                ["init"] = null,
                ["init_sha256"] = null,
            };
            SharedInitialWeights(build);
            var built = _worker.Request("build", build);
            ParameterCount = built["parameters"]!.GetValue<long>();
            Settings = [.. built["settings"]!.AsArray().Select(row => row!.AsArray()).Select(row =>
                new FrameworkSetting(Scope(row[0]!.GetValue<string>()), row[1]!.GetValue<string>(), row[2]!.GetValue<string>()))];
            Repr = built["repr"]?.GetValue<string>() ?? "";
        }
        catch
        {
            _worker.Dispose();
            throw;
        }
    }

    /// <summary>With --align init: Keras's initial weights from the seed, converted, as a torch.save state_dict the worker loads.</summary>
    void SharedInitialWeights(JsonObject request)
    {
        if (_config.Init != Initialisation.Shared) return;
        // Exactly what `convert --to pytorch` writes for these weights: the module's whole state_dict, buffers included.
        using var keras = _architecture.Build(_config.Seed);
        using var module = _architecture.Torch.CreateModule();
        TorchWeights.KerasToTorch(keras, module, _architecture.Torch);
        string path = WorkerFiles.NewFile(".init.pt");
        WeightConversion.SaveTorch(module, ModelFormat.PyTorch, path);
        request["init"] = path;
        request["init_sha256"] = Checksums.Of(path);
    }

    string Scope(string module) => module == "(model)" ? module : _architecture.Torch.KerasLayerOf(module);

    /// <summary>Hands a data set to the worker (once) and returns its name there.</summary>
    string Load(string name, ImageSet set)
    {
        if (_splits.TryGetValue(set, out var known)) return known;
        var files = WorkerFiles.Of(set);
        _worker.Request("load_data", new JsonObject
        {
            ["name"] = name, ["images"] = files.Images, ["images_sha256"] = files.ImagesSha256,
            ["labels"] = files.Labels, ["labels_sha256"] = files.LabelsSha256,
        });
        _splits[set] = name;
        return name;
    }

    string SplitName(ImageSet set) => _splits.TryGetValue(set, out var name) ? name : Load($"set{_splits.Count}", set);

    public string Name => FrameworkName;

    public IReadOnlyDictionary<string, string> Versions { get; }

    public long ParameterCount { get; }

    public IReadOnlyList<FrameworkSetting> Settings { get; }

    /// <summary>How PyTorch prints the model it built.</summary>
    public string Repr { get; }

    public int StepsPerEpoch => (_train.Count + _config.BatchSize - 1) / _config.BatchSize;

    public long? PeakMemoryBytes => _worker.PeakMemoryBytes();

    public float[][] TrainableWeightsInKerasLayout()
    {
        string path = WorkerFiles.NewFile(".weights.pt");
        _worker.Request("save_weights", new JsonObject { ["path"] = path });
        var stored = TorchStateDict.Read(path);
        File.Delete(path);
        using var shapes = _architecture.Build(seed: 0);
        var trainable = _architecture.Torch.Tensors.Where(t => shapes.Weights[t.KerasWeight].Trainable)
            .Select(t => stored.Tensors.TryGetValue(t.Key, out var tensor) ? tensor.ToFloat32()
                : throw new InvalidDataException($"pytorch: the worker's state_dict has no '{t.Key}'.")).ToList();
        return WeightLayout.FromTorchLayout(shapes, _architecture.Torch, trainable);
    }

    public Metrics TrainEpoch(int epoch, StepCallback? afterStep, CancellationToken stop)
    {
        var order = new JsonArray([.. EpochOrder.Create(_train.Count, _config.Seed, epoch).Select(i => (JsonNode)i)]);
        var result = _worker.Request("train_epoch", new JsonObject { ["order"] = order, ["batch_size"] = _config.BatchSize },
            afterStep is null ? null : step => afterStep(step["step"]!.GetValue<int>(), ToMetrics(step)), stop);
        LastEpochSeconds = result["seconds"]?.GetValue<double>();
        return ToMetrics(result);
    }

    /// <summary>The last epoch's training seconds on the worker's own clock (without the protocol's round trips).</summary>
    public double? LastEpochSeconds { get; private set; }

    public Metrics Evaluate(ImageSet set) =>
        ToMetrics(_worker.Request("evaluate", new JsonObject { ["name"] = SplitName(set), ["batch_size"] = Math.Max(_config.BatchSize, 256) }));

    public int[] PredictClasses(ImageSet set) =>
        [.. _worker.Request("predict", new JsonObject { ["name"] = SplitName(set), ["batch_size"] = Math.Max(_config.BatchSize, 256) })["classes"]!
            .AsArray().Select(c => c!.GetValue<int>())];

    public string SaveCheckpoint(string folder)
    {
        var saved = _worker.Request("save", new JsonObject { ["folder"] = Path.GetFullPath(folder) });
        _modelFile = saved["model_file"]!.GetValue<string>();
        _optimizerFile = saved["optimizer_file"]!.GetValue<string>();
        // Beside it the architecture, so the checkpoint's model.pt loads as a PyTorch state_dict of the right network.
        return _modelFile;
    }

    public void LoadCheckpoint(string folder)
    {
        foreach (string file in new[] { _modelFile, _optimizerFile })
            if (!File.Exists(Path.Combine(folder, file)))
                throw new FileNotFoundException($"{Path.Combine(folder, file)}: the checkpoint is incomplete (missing file).", Path.Combine(folder, file));
        _worker.Request("load", new JsonObject { ["folder"] = Path.GetFullPath(folder), ["model_file"] = _modelFile, ["optimizer_file"] = _optimizerFile });
    }

    static Metrics ToMetrics(JsonObject values) => new(Number(values["loss"]), Number(values["accuracy"]), values["samples"]!.GetValue<long>());

    /// <summary>A float as the worker wrote it: a number, or "NaN", "Infinity", "-Infinity" for a loss that is not finite.</summary>
    static double Number(JsonNode? node) => node is JsonValue value && value.TryGetValue(out double number) ? number
        : double.Parse(node?.ToString() ?? "NaN", CultureInfo.InvariantCulture);

    public void Dispose() => _worker.Dispose();
}
