using TorchSharp;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Frameworks.Torch.Study;
using static TorchSharp.torch;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Frameworks.Torch;

/// <summary>
/// The PyTorch-style side: the architecture as the nn.Sequential a PyTorch user would write for it (the study's CNN
/// computes exactly what the hand-written <see cref="StudyCnn"/> does), trained by <see cref="TorchTraining"/>'s loop.
/// </summary>
public sealed class TorchFramework : IFramework
{
    public const string WeightsFile = "weights.torchsharp.dat";

    readonly nn.Module<Tensor, Tensor> _model;
    readonly TorchSharp.Modules.OptimizerHelper _optimizer;
    readonly Batches _train;
    readonly TrainingConfig _config;
    readonly TorchTranslation _translation;
    readonly TorchCpuTuning _tuning;
    readonly Architecture _architecture;
    Batches? _evaluation;

    public TorchFramework(TrainingConfig config, ImageSet train, Architecture architecture, TorchCpuTuning? tuning = null)
    {
        _config = config;
        _tuning = tuning ?? TorchCpuTuning.Plain;
        if (_tuning.InteropThreads is int interop) TorchCpuTuning.SetInteropThreadsOnce(interop);
        torch.set_num_threads(config.Threads);
        torch.manual_seed(config.Seed);
        var network = architecture.AsPyTorchUsersTrainIt(config);
        Network = network == architecture ? null : network;
        architecture = network;
        _translation = architecture.Torch;
        _architecture = architecture;
        _model = architecture.Torch.CreateModule();
        if (config.Init == Initialisation.Shared)
        {
            using var shared = architecture.Build(config.Seed);
            TorchWeights.KerasToTorch(shared, _model, architecture.Torch);
        }
        _optimizer = config.Optimizer == TrainingOptimizer.Sgd
            ? optim.SGD(_model.parameters(), config.LearningRate, momentum: config.Momentum)
            : optim.Adam(_model.parameters(), lr: config.LearningRate);
        _train = new Batches(train, config.BatchSize, Layout);
    }

    /// <summary>channels_last feeds NHWC buffers as channels_last tensors; the plain loop feeds NCHW.</summary>
    ImageLayout Layout => _tuning.ChannelsLast ? ImageLayout.Nhwc : ImageLayout.Nchw;

    public Architecture? Network { get; }

    public string Name => _tuning == TorchCpuTuning.Plain ? TorchProvider.FrameworkName : TorchProvider.TunedName;

    public IReadOnlyDictionary<string, string> Versions { get; } = new Dictionary<string, string>
    {
        ["TorchSharp"] = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?",
        ["libtorch"] = torch.__version__,
    };

    public long ParameterCount => _model.parameters().Sum(p => p.numel());

    public float[][] TrainableWeightsInKerasLayout()
    {
        using var shapes = _architecture.Build(seed: 0);
        return WeightLayout.FromTorchLayout(shapes, _translation, [.. _model.parameters().Select(p => p.data<float>().ToArray())]);
    }

    public IReadOnlyList<FrameworkSetting> Settings => [.. ReadSettings()];

    IEnumerable<FrameworkSetting> ReadSettings()
    {
        bool shared = _config.Init == Initialisation.Shared;
        foreach (var (name, module) in _model.named_children())
        {
            string layer = _translation.KerasLayerOf(name);
            switch (module)
            {
                case TorchSharp.Modules.Conv2d or TorchSharp.Modules.Linear:
                    yield return new(layer, "kernel initialisation", shared ? "GlorotUniform (converted from the Keras model's)" : "kaiming_uniform_(a=√5) (reset_parameters)");
                    bool hasBias = module.named_parameters().Any(p => p.name == "bias");
                    yield return new(layer, "bias initialisation", !hasBias ? "no bias" : shared ? "Zeros (converted from the Keras model's)" : "U(±1/√fan_in) (reset_parameters)");
                    break;
                case TorchSharp.Modules.NormBase norm:
                    yield return new(layer, "momentum (weight of the old running value)", norm.momentum is double m ? F($"{1 - m} (momentum={m})") : "cumulative average (momentum=None)");
                    yield return new(layer, "epsilon", F($"{norm.eps}"));
                    yield return new(layer, "running variance", "unbiased (batch variance × n/(n−1))");
                    break;
            }
        }
        if (_optimizer is TorchSharp.Modules.Adam adam && adam.ParamGroups.First() is TorchSharp.Modules.Adam.ParamGroup { Options: TorchSharp.Modules.Adam.Options options })
        {
            yield return new("(model)", "Adam epsilon", F($"{options.eps:G}"));
            yield return new("(model)", "Adam epsilon placement", "√v̂ + ε (after the bias correction)");
        }
        yield return new("(model)", "loss input", "logits (CrossEntropyLoss)");
        yield return new("(model)", "data layout", _tuning.ChannelsLast ? "NCHW, channels_last in memory" : "NCHW (channels first)");
        yield return new("(model)", "threads", F($"{torch.get_num_threads()}"));
    }

    public int StepsPerEpoch => _train.BatchCount;

    public Metrics TrainEpoch(int epoch, StepCallback? afterStep, CancellationToken stop)
    {
        _train.StartEpoch(_config.Seed, epoch);
        var result = TorchTraining.TrainEpoch(_model, _optimizer, _train,
            afterStep is null ? null : (step, running) => afterStep(step, ToMetrics(running)), stop);
        return ToMetrics(result);
    }

    public Metrics Evaluate(ImageSet set)
    {
        // The test set is evaluated after every epoch: keep its batch buffer rather than allocate one each time.
        if (_evaluation?.Set != set) _evaluation = new Batches(set, Math.Max(_config.BatchSize, 256), Layout);
        return ToMetrics(TorchTraining.Evaluate(_model, _evaluation, _tuning.InferenceMode));
    }

    /// <summary>The class with the highest logit for every image of the set, in order.</summary>
    public int[] PredictClasses(ImageSet set)
    {
        var batches = new Batches(set, Math.Max(_config.BatchSize, 256), ImageLayout.Nchw);
        using var noGrad = no_grad();
        _model.eval();
        batches.StartEpoch(seed: 0, epoch: 0, shuffle: false);
        var predicted = new int[set.Count];
        for (int b = 0; b < batches.BatchCount; b++)
        {
            using var scope = NewDisposeScope();
            var batch = batches.Load(b);
            var classes = _model.call(TorchTraining.ToTensors(batch).X).argmax(1).data<long>();
            for (int i = 0; i < batch.Count; i++) predicted[b * batches.BatchSize + i] = (int)classes[i];
        }
        return predicted;
    }

    public const string OptimizerFile = "optimizer.torchsharp.dat";

    public string SaveCheckpoint(string folder)
    {
        // The folder is a checkpoint being written (renamed into place once complete), so plain writes are safe here.
        _model.save(Path.Combine(folder, WeightsFile));
        _optimizer.save_state_dict(Path.Combine(folder, OptimizerFile));
        return WeightsFile;
    }

    public void LoadCheckpoint(string folder)
    {
        string weights = Path.Combine(folder, WeightsFile), optimizer = Path.Combine(folder, OptimizerFile);
        foreach (string file in new[] { weights, optimizer })
            if (!File.Exists(file)) throw new FileNotFoundException($"{file}: the checkpoint is incomplete (missing file).", file);
        try
        {
            _model.load(weights);
            _optimizer.load_state_dict(optimizer);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{folder}: cannot load the torch checkpoint ({e.Message}); it is truncated or from another model or optimizer.", e);
        }
    }

    static Metrics ToMetrics(Running running) => new(running.Loss, running.Accuracy, running.Samples);

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
    }
}

/// <summary>
/// What a performance-minded TorchSharp user would set on a CPU beyond the study's plain loop: channels_last inputs
/// (oneDNN's preferred layout for convolutions), inference_mode instead of no_grad for evaluation, and one inter-op
/// thread (the model is a chain with nothing to run side by side; libtorch allows setting it once per process).
/// `bench` measures it against the plain loop; `compare` keeps the plain loop, as the study wrote it.
/// </summary>
public sealed record TorchCpuTuning(bool ChannelsLast, bool InferenceMode, int? InteropThreads)
{
    public static TorchCpuTuning Plain { get; } = new(false, false, null);
    public static TorchCpuTuning CpuTuned { get; } = new(true, true, 1);

    static readonly Lock InteropLock = new();
    static int? _interopThreads;

    /// <summary>torch.set_num_interop_threads, which libtorch refuses a second time: later calls must ask for the same number.</summary>
    public static void SetInteropThreadsOnce(int threads)
    {
        lock (InteropLock)
        {
            if (_interopThreads is null)
            {
                torch.set_num_interop_threads(threads);
                _interopThreads = threads;
            }
            else if (_interopThreads != threads)
            {
                throw new InvalidOperationException($"libtorch's inter-op threads are already set to {_interopThreads} in this process.");
            }
        }
    }

    public override string ToString() => this == Plain ? "the study's plain loop"
        : string.Join(", ", new[] { ChannelsLast ? "channels_last inputs" : null, InferenceMode ? "inference_mode for evaluation" : null,
            InteropThreads is int n ? $"set_num_interop_threads({n})" : null }.Where(s => s is not null));
}
