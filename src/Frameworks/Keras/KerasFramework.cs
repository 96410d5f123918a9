using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Frameworks.Keras.Study;
using TwinTrain.Keras;
using TwinTrain.Keras.Callbacks;
using TwinTrain.Keras.Optimizers;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Frameworks.Keras;

/// <summary>
/// The Keras-style side: the architecture's model built from its Keras config, compiled and trained with Fit one epoch
/// per call, as <see cref="KerasStudy"/> does for the study's CNN.
/// </summary>
public sealed class KerasFramework : IFramework
{
    /// <summary>Keras 3's own format: a Keras user opens it with keras.saving.load_model.</summary>
    public const string ModelFile = "model.keras";

    /// <summary>The model file of run folders from before .keras files; still read.</summary>
    public const string LegacyModelFile = "keras-model.zip";

    readonly Sequential _model;
    readonly ImageSetDataset _train;
    readonly TrainingConfig _config;
    ImageSetDataset? _evaluation;

    public KerasFramework(TrainingConfig config, ImageSet train, Architecture architecture)
    {
        _config = config;
        _model = architecture.Build(config.Seed);
        _model.Compile(config.Optimizer == TrainingOptimizer.Sgd ? new SGD(config.LearningRate, config.Momentum)
            : config.Epsilon == AdamEpsilon.Aligned ? new Adam(config.LearningRate, epsilon: TrainingConfig.AlignedEpsilon) { EpsilonAfterBiasCorrection = true }
            : new Adam(config.LearningRate), metrics: ["accuracy"]);
        _model.Threads = config.Threads;
        _train = new ImageSetDataset(train);
    }

    public string Name => KerasProvider.FrameworkName;

    public IReadOnlyDictionary<string, string> Versions { get; } = new Dictionary<string, string>
    {
        ["TwinTrain.Keras"] = typeof(Sequential).Assembly.GetName().Version?.ToString(3) ?? "?",
        ["engine"] = TwinTrain.Keras.KerasEngine.InstructionSet,
    };

    public long ParameterCount => _model.ParameterCount;

    public float[][] TrainableWeightsInKerasLayout() => [.. _model.TrainableWeights.Select(w => (float[])w.Value.Clone())];

    public IReadOnlyList<FrameworkSetting> Settings => [.. ReadSettings()];

    IEnumerable<FrameworkSetting> ReadSettings()
    {
        static string ClassOf(object? initializer) => initializer is Dictionary<string, object?> d && d.TryGetValue("class_name", out var name) ? $"{name}" : $"{initializer}";
        string seedNote = _config.Init == Initialisation.Shared ? " (from the seed; the same values in both)" : "";
        foreach (var layer in _model.Layers)
        {
            var config = layer.GetConfig();
            if (layer.TrainableWeights.Count == 0) continue;
            if (config.TryGetValue("kernel_initializer", out var kernel)) yield return new(layer.Name, "kernel initialisation", ClassOf(kernel) + seedNote);
            if (config.TryGetValue("use_bias", out var useBias) && useBias is false) yield return new(layer.Name, "bias initialisation", "no bias");
            else if (config.TryGetValue("bias_initializer", out var bias)) yield return new(layer.Name, "bias initialisation", ClassOf(bias) + seedNote);
            if (layer is TwinTrain.Keras.Layers.BatchNormalization bn)
            {
                yield return new(layer.Name, "momentum (weight of the old running value)", F($"{bn.Momentum}"));
                yield return new(layer.Name, "epsilon", F($"{bn.Epsilon}"));
                yield return new(layer.Name, "running variance", "biased (batch variance, n)");
            }
        }
        if (_model.Optimizer is Adam adam)
        {
            yield return new("(model)", "Adam epsilon", F($"{adam.Epsilon:G}"));
            yield return new("(model)", "Adam epsilon placement", adam.EpsilonAfterBiasCorrection ? "√v̂ + ε (after the bias correction)" : "√v + ε (before the bias correction)");
        }
        yield return new("(model)", "loss input", _model.Loss!.FromLogits ? "logits" : "softmax probabilities");
        yield return new("(model)", "data layout", "NHWC (channels last)");
        yield return new("(model)", "threads", F($"{_model.Threads}"));
    }

    public int StepsPerEpoch => (_train.Count + _config.BatchSize - 1) / _config.BatchSize;

    public Metrics TrainEpoch(int epoch, StepCallback? afterStep, CancellationToken stop)
    {
        var progress = new StepProgress(afterStep, _config.BatchSize, _train.Count);
        KerasStudy.FitEpoch(_model, _train, epoch, _config.BatchSize, _config.Seed, [progress], stop);
        return progress.Last;
    }

    public Metrics Evaluate(ImageSet set)
    {
        if (_evaluation?.Set != set) _evaluation = new ImageSetDataset(set);
        var result = _model.Evaluate(_evaluation, batchSize: Math.Max(_config.BatchSize, 256));
        return new Metrics(result["loss"], result["accuracy"], set.Count);
    }

    public int[] PredictClasses(ImageSet set)
    {
        var predicted = new int[set.Count];
        var converter = new Data.Batching.PixelConverter(Data.Batching.ImageLayout.Nhwc);
        const int chunk = 1024;
        var x = new float[chunk * set.Shape.Pixels];
        var indices = new int[chunk];
        for (int start = 0; start < set.Count; start += chunk)
        {
            int count = Math.Min(chunk, set.Count - start);
            for (int i = 0; i < count; i++) indices[i] = start + i;
            converter.Fill(set, indices.AsSpan(0, count), x);
            var probabilities = _model.Predict(count == chunk ? x : x[..(count * set.Shape.Pixels)], batchSize: 256);
            int classes = _model.OutputSize;
            for (int i = 0; i < count; i++) predicted[start + i] = TwinTrain.Experiment.Models.ClassScores.ArgMax(probabilities.AsSpan(i * classes, classes));
        }
        return predicted;
    }

    public string SaveCheckpoint(string folder)
    {
        _model.Save(Path.Combine(folder, ModelFile));
        return ModelFile;
    }

    public void LoadCheckpoint(string folder)
    {
        string path = Path.Combine(folder, ModelFile);
        if (!File.Exists(path) && File.Exists(Path.Combine(folder, LegacyModelFile))) path = Path.Combine(folder, LegacyModelFile);
        using var saved = Sequential.Load(path);
        if (saved.Optimizer?.Name != _model.Optimizer!.Name)
            throw new InvalidDataException($"{path}: the checkpoint was trained with {saved.Optimizer?.Name ?? "no optimizer"}, this run uses {_model.Optimizer.Name}.");
        _model.SetWeights(saved.GetWeights());
        _model.Optimizer.SetState(_model.TrainableWeights, saved.Optimizer.GetState(), saved.Optimizer.Iterations);
    }

    public void Dispose() => _model.Dispose();

    /// <summary>Turns Fit's per-step logs into the experiment's running metrics.</summary>
    sealed class StepProgress(StepCallback? afterStep, int batchSize, int samples) : Callback
    {
        public Metrics Last { get; private set; }

        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            Last = new Metrics(logs["loss"], logs["accuracy"], Math.Min((long)(batch + 1) * batchSize, samples));
            afterStep?.Invoke(batch + 1, Last);
        }
    }
}
