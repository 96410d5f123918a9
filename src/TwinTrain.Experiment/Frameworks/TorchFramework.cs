using TorchSharp;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Torch;
using static TorchSharp.torch;

namespace TwinTrain.Experiment.Frameworks;

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
    Batches? _evaluation;

    public TorchFramework(TrainingConfig config, ImageSet train, Architecture architecture)
    {
        _config = config;
        torch.set_num_threads(config.Threads);
        torch.manual_seed(config.Seed);
        _model = architecture.Torch.CreateModule();
        if (config.Init == "shared")
        {
            using var shared = architecture.Build(config.Seed);
            WeightLayout.KerasToTorch(shared, _model, architecture.Torch);
        }
        _optimizer = config.Optimizer == "sgd"
            ? optim.SGD(_model.parameters(), config.LearningRate, momentum: config.Momentum)
            : optim.Adam(_model.parameters(), lr: config.LearningRate);
        _train = new Batches(train, config.BatchSize, ImageLayout.Nchw);
    }

    public string Name => "torch";

    public IReadOnlyDictionary<string, string> Versions { get; } = new Dictionary<string, string>
    {
        ["TorchSharp"] = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?",
        ["libtorch"] = torch.__version__,
    };

    public long ParameterCount => _model.parameters().Sum(p => p.numel());

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
        if (_evaluation?.Set != set) _evaluation = new Batches(set, Math.Max(_config.BatchSize, 256), ImageLayout.Nchw);
        return ToMetrics(TorchTraining.Evaluate(_model, _evaluation));
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
