using System.Globalization;
using System.Text;
using TwinTrain.Data.Batching;
using TwinTrain.Keras.Callbacks;
using TwinTrain.Keras.Data;
using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Losses;
using TwinTrain.Keras.Optimizers;
using TwinTrain.Keras.Saving;

using TwinTrain.Keras.Utils;

namespace TwinTrain.Keras;

/// <summary>
/// A linear stack of layers, as Keras's Sequential: build it from layers (the first declares the input shape),
/// <see cref="Compile(string, string, string[])"/>, then <see cref="Fit(IDataset, int, int, IDataset, bool, int, int, IEnumerable{Callback}, int, TextWriter, CancellationToken)"/>,
/// <see cref="Evaluate(IDataset, int)"/> and <see cref="Predict(float[], int)"/>. Inputs are channels-last float32.
/// </summary>
public sealed class Sequential : IDisposable
{
    Executor? _executor;
    string[] _metrics = [];

    public Sequential(params Layer[] layers) : this(seed: 0, layers) { }

    /// <summary>A model whose initial weights are drawn from <paramref name="seed"/>.</summary>
    public Sequential(int seed, params Layer[] layers)
        : this(seed, layers.Length > 0 ? DeclaredInputShape(layers[0]) ?? throw new ArgumentException($"The first layer ('{layers[0].Name}') must declare inputShape.") : [], layers)
    {
    }

    /// <summary>A model on inputs of <paramref name="inputShape"/> (without the batch), as Keras's Sequential([Input(shape), ...]).</summary>
    public Sequential(int seed, int[] inputShape, IReadOnlyList<Layer> layers, string? name = null)
    {
        if (layers.Count == 0) throw new ArgumentException("A Sequential model needs at least one layer.");
        Layers = [.. layers];
        Seed = seed;
        Name = name ?? "sequential";
        var random = new Random(seed);
        InputShape = inputShape;
        int[] shape = inputShape;
        for (int i = 0; i < Layers.Count; i++)
        {
            try
            {
                Layers[i].Build(shape, random);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                e.Data[LayerIndexKey] = i; // lets a config reader name the layer as the config does
                throw;
            }
            shape = Layers[i].OutputShape;
        }
        Weights = [.. Layers.SelectMany(l => l.Weights)];
        TrainableWeights = [.. Layers.SelectMany(l => l.TrainableWeights)];
    }

    /// <summary>The key under which a layer's build error carries the layer's index in <see cref="Exception.Data"/>.</summary>
    public const string LayerIndexKey = "TwinTrain.LayerIndex";

    /// <summary>The model a Keras model config describes (model.to_json(), or a .keras file's config.json).</summary>
    public static Sequential FromConfig(string json, int seed = 0) => ModelConfig.FromJson(json, seed);

    /// <summary>The model's Keras config, as model.to_json() writes it.</summary>
    public string ToJson() => ModelConfig.ToJson(this);

    public string Name { get; }
    public IReadOnlyList<Layer> Layers { get; }
    public int Seed { get; }
    public int[] InputShape { get; }
    public int[] OutputShape => Layers[^1].OutputShape;
    public int InputSize => Layers[0].InputSize;
    public int OutputSize => Layers[^1].OutputSize;
    public long ParameterCount => Layers.Sum(l => l.ParameterCount);
    public long TrainableParameterCount => Layers.Sum(l => l.TrainableParameterCount);
    public long NonTrainableParameterCount => ParameterCount - TrainableParameterCount;
    /// <summary>Every weight in model order (layer by layer, each layer's trainable first), as Keras's model.weights.</summary>
    public IReadOnlyList<Variable> Weights { get; }
    public IReadOnlyList<Variable> TrainableWeights { get; }

    /// <summary>CPU threads used by Fit, Evaluate and Predict (default: all cores).</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>Set by a callback to end Fit after the current epoch (Keras's model.stop_training).</summary>
    public bool StopTraining { get; set; }

    public Optimizer? Optimizer { get; private set; }
    public SparseCategoricalCrossentropy? Loss { get; private set; }
    public IReadOnlyList<string> Metrics => _metrics;

    static int[]? DeclaredInputShape(Layer layer) => layer switch
    {
        Conv2D conv => conv.DeclaredInputShape,
        Dense dense => dense.DeclaredInputShape,
        _ => null,
    };

    public void Compile(string optimizer = "adam", string loss = "sparse_categorical_crossentropy", string[]? metrics = null)
    {
        Compile(Optimizer.FromName(optimizer), LossFromName(loss), metrics);
        LossIdentifier = loss;
    }

    /// <summary>
    /// The loss as compile was given it when that was a name (Keras's compile_config keeps the argument as given:
    /// keras/src/trainers/trainer.py, compile); null when it was an object, whose config is written instead.
    /// </summary>
    public string? LossIdentifier { get; internal set; }

    public void Compile(Optimizer optimizer, SparseCategoricalCrossentropy? loss = null, string[]? metrics = null)
    {
        foreach (string metric in metrics ?? [])
        {
            if (metric is not ("accuracy" or "acc" or "sparse_categorical_accuracy"))
                throw new ArgumentException($"Unknown metric '{metric}'; this framework supports 'accuracy'.");
        }
        Optimizer = optimizer;
        LossIdentifier = loss is null ? "sparse_categorical_crossentropy" : null;
        Loss = loss ?? new SparseCategoricalCrossentropy();
        // Logged under the name given, as Keras does (keras/src/trainers/compile_utils.py, get_metric: metric_name = identifier).
        _metrics = metrics is null ? [] : [.. metrics.Distinct()];
        // A softmax output with (non-logit) cross-entropy is computed in the fused log-softmax form.
        Layers[^1].DeferActivation = !Loss.FromLogits && Layers[^1] is Dense { Activation: Activation.Softmax } or Conv2D { Activation: Activation.Softmax }
            or ActivationLayer { Function: Activation.Softmax };
    }

    static SparseCategoricalCrossentropy LossFromName(string name) => name switch
    {
        "sparse_categorical_crossentropy" => new SparseCategoricalCrossentropy(),
        _ => throw new ArgumentException($"Unknown loss '{name}'; this framework supports 'sparse_categorical_crossentropy'."),
    };

    /// <summary>Sets the executor up as a step would, which marks the layers' fusions and dense gradients (for the kernel benchmark).</summary>
    internal void PlanExecution() => ExecutorFor(1);

    Executor ExecutorFor(int batchSize)
    {
        if (_executor is null || _executor.Capacity < batchSize || _executor.Threads != Math.Min(Threads, _executor.Capacity))
        {
            _executor?.Dispose();
            _executor = new Executor(Layers, batchSize, Threads);
        }
        _executor.Configure(Layers[^1].DeferActivation, Loss?.FromLogits ?? false);
        return _executor;
    }

    void RequireCompiled()
    {
        if (Optimizer is null || Loss is null) throw new InvalidOperationException("Compile the model before training or evaluating it.");
    }

    /// <param name="validationSplit">
    /// As Keras's validation_split: the first floor(n·(1 − split)) samples train and the rest, taken before any
    /// shuffling, are held out and evaluated after each epoch (keras/src/trainers/data_adapters/array_slicing.py, train_validation_split);
    /// <paramref name="validationData"/>, when given, takes precedence. Sample weights are split with the samples.
    /// </param>
    public History Fit(float[] x, int[] y, int epochs = 1, int batchSize = 32, (float[] X, int[] Y)? validationData = null,
        bool shuffle = true, int seed = 0, int initialEpoch = 0, IEnumerable<Callback>? callbacks = null, int verbose = 1,
        TextWriter? output = null, CancellationToken stop = default, double validationSplit = 0,
        float[]? sampleWeight = null, IReadOnlyDictionary<int, double>? classWeight = null)
    {
        if (sampleWeight is not null && sampleWeight.Length != y.Length)
            throw new ArgumentException($"sample_weight has {sampleWeight.Length} values for {y.Length} samples.", nameof(sampleWeight));
        if (validationSplit is < 0 or >= 1 || double.IsNaN(validationSplit))
            throw new ArgumentOutOfRangeException(nameof(validationSplit), $"validation_split must be in [0, 1), not {validationSplit}.");
        if (validationSplit > 0 && validationData is null)
        {
            int samples = y.Length, splitAt = (int)Math.Floor(samples * (1.0 - validationSplit));
            if (splitAt == 0 || splitAt == samples)
                throw new ArgumentException($"Training data contains {samples} samples, which is not sufficient to split it into a validation and training set as specified by `validation_split={validationSplit}`. Either provide more data, or a different value for the `validation_split` argument.");
            validationData = (x[(splitAt * InputSize)..], y[splitAt..]);
            (x, y) = (x[..(splitAt * InputSize)], y[..splitAt]);
            sampleWeight = sampleWeight?[..splitAt];
        }
        return Fit(new ArrayDataset(x, y, InputSize), epochs, batchSize,
            validationData is { } v ? new ArrayDataset(v.X, v.Y, InputSize) : null,
            shuffle, seed, initialEpoch, callbacks, verbose, output, stop, sampleWeight, classWeight);
    }

    /// <summary>
    /// Keras's class_weight as a weight per class (classes it leaves out weigh 1.0, as data_adapter_utils.py's
    /// class_weight_to_sample_weights); with sample_weight as well it is refused (array_data_adapter.py).
    /// </summary>
    float[]? ClassWeightTable(IReadOnlyDictionary<int, double>? classWeight, float[]? sampleWeight)
    {
        if (classWeight is null) return null;
        if (sampleWeight is not null) throw new ArgumentException("You cannot `class_weight` and `sample_weight` at the same time.");
        var table = Enumerable.Repeat(1f, OutputSize).ToArray();
        foreach (var (label, weight) in classWeight)
        {
            if (label < 0 || label >= OutputSize) throw new ArgumentException($"class_weight has class {label}, but the model has {OutputSize} classes (0 to {OutputSize - 1}).", nameof(classWeight));
            if (!(weight >= 0) || double.IsInfinity(weight)) throw new ArgumentException($"class_weight[{label}] = {weight} is not a weight (0 or more).", nameof(classWeight));
            table[label] = (float)weight;
        }
        return table;
    }

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs (from <paramref name="initialEpoch"/>), visiting samples in the order
    /// given by (seed, epoch). Logs per epoch "loss" and "accuracy" (sample-weighted means over the epoch, in training
    /// mode) and, with validation data, "val_loss" and "val_accuracy". Cancelling stops after the current step.
    /// </summary>
    /// <param name="sampleWeight">Per sample of <paramref name="x"/>, the weight of its loss and metrics (Keras's sample_weight).</param>
    /// <param name="classWeight">Per class, the weight of its samples (Keras's class_weight); not with <paramref name="sampleWeight"/>.</param>
    public History Fit(IDataset x, int epochs = 1, int batchSize = 32, IDataset? validationData = null, bool shuffle = true,
        int seed = 0, int initialEpoch = 0, IEnumerable<Callback>? callbacks = null, int verbose = 1,
        TextWriter? output = null, CancellationToken stop = default, float[]? sampleWeight = null, IReadOnlyDictionary<int, double>? classWeight = null)
    {
        RequireCompiled();
        if (sampleWeight is not null && sampleWeight.Length != x.Count)
            throw new ArgumentException($"sample_weight has {sampleWeight.Length} values for {x.Count} samples.", nameof(sampleWeight));
        if (sampleWeight is not null && sampleWeight.Any(w => !(w >= 0) || float.IsInfinity(w)))
            throw new ArgumentException("sample_weight must hold weights of 0 or more.", nameof(sampleWeight));
        var classWeights = ClassWeightTable(classWeight, sampleWeight);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "The batch size must be at least 1.");
        if (x.Count == 0) throw new ArgumentException("Fit needs at least one sample.");
        int steps = (x.Count + batchSize - 1) / batchSize;
        var history = new History();
        // Keras's order (keras/src/callbacks/callback_list.py, _add_default_callbacks): the user's callbacks, then History,
        // then the progress bar.
        var all = new List<Callback>(callbacks ?? []) { history };
        if (verbose > 0) all.Add(new ProgbarLogger(output ?? Console.Out, verbose, steps, epochs));
        foreach (var callback in all) callback.Model = this;

        // Validation runs in larger batches; size the buffers for both now so neither replaces the other mid-Fit.
        int validationBatch = Math.Max(batchSize, 256);
        var executor = ExecutorFor(validationData is null ? batchSize : validationBatch);
        var order = new int[x.Count];
        var logs = new Dictionary<string, double>();
        StopTraining = false;
        foreach (var callback in all) callback.OnTrainBegin();
        for (int epoch = initialEpoch; epoch < epochs && !StopTraining && !stop.IsCancellationRequested; epoch++)
        {
            foreach (var callback in all) callback.OnEpochBegin(epoch);
            EpochOrder.Fill(order, seed, epoch, shuffle);
            // Keras's trackers: the loss is a mean over batches weighted by their size (each batch's loss being
            // Σ wᵢ·lossᵢ / its size), the accuracy Σ wᵢ·correctᵢ / Σ wᵢ; with no weights, plain means over samples.
            double lossSum = 0, correct = 0, weights = 0;
            long seen = 0;
            logs.Clear();
            for (int step = 0; step < steps; step++)
            {
                if (stop.IsCancellationRequested) break;
                int start = step * batchSize, count = Math.Min(batchSize, x.Count - start);
                executor.ReadFrom(x, order, start, sampleWeight, classWeights);
                var (batchLoss, _) = executor.TrainStep(count, Optimizer!);
                var (batchCorrect, batchWeights) = executor.WeightedTotals;
                lossSum += batchLoss;
                correct += batchCorrect;
                weights += batchWeights;
                seen += count;
                SetMetrics(logs, "", lossSum / seen, weights > 0 ? correct / weights : 0);
                foreach (var callback in all) callback.OnTrainBatchEnd(step, logs);
                if (StopTraining) break; // as Keras's fit loop: validation and on_epoch_end still follow
            }
            if (stop.IsCancellationRequested) break;
            if (validationData is not null)
            {
                var validation = Evaluate(validationData, validationBatch);
                SetMetrics(logs, "val_", validation["loss"], _metrics.Length > 0 ? validation[_metrics[0]] : 0);
            }
            foreach (var callback in all) callback.OnEpochEnd(epoch, logs);
        }
        foreach (var callback in all) callback.OnTrainEnd(logs);
        return history;
    }

    void SetMetrics(Dictionary<string, double> logs, string prefix, double loss, double accuracy)
    {
        logs[prefix + "loss"] = loss;
        foreach (string metric in _metrics) logs[prefix + metric] = accuracy;
    }

    public Dictionary<string, double> Evaluate(float[] x, int[] y, int batchSize = 32) =>
        Evaluate(new ArrayDataset(x, y, InputSize), batchSize);

    /// <summary>Mean loss (and accuracy) over every sample, in inference mode.</summary>
    public Dictionary<string, double> Evaluate(IDataset x, int batchSize = 32)
    {
        RequireCompiled();
        var executor = ExecutorFor(batchSize);
        double lossSum = 0;
        long correct = 0;
        int batch = Math.Min(batchSize, executor.Capacity);
        var indices = new int[x.Count];
        for (int i = 0; i < indices.Length; i++) indices[i] = i;
        for (int start = 0; start < x.Count; start += batch)
        {
            int count = Math.Min(batch, x.Count - start);
            executor.ReadFrom(x, indices, start);
            var (loss, hits) = executor.EvaluateBatch(count);
            lossSum += loss;
            correct += hits;
        }
        var result = new Dictionary<string, double> { ["loss"] = lossSum / x.Count };
        foreach (string metric in _metrics) result[metric] = (double)correct / x.Count;
        return result;
    }

    /// <summary>The model's outputs for every sample of x (samples one after another), OutputSize values each.</summary>
    public float[] Predict(float[] x, int batchSize = 32)
    {
        if (x.Length % InputSize != 0)
            throw new ArgumentException($"x holds {x.Length} values, not a whole number of samples of {InputSize} ({Layer.Format(InputShape)}).");
        int samples = x.Length / InputSize;
        var executor = ExecutorFor(batchSize);
        var predictions = new float[samples * OutputSize];
        for (int start = 0; start < samples; start += executor.Capacity)
        {
            int count = Math.Min(executor.Capacity, samples - start);
            x.AsSpan(start * InputSize, count * InputSize).CopyTo(executor.X);
            executor.PredictBatch(count, predictions, start);
        }
        return predictions;
    }

    /// <summary>One optimizer step on exactly these samples (Keras's train_on_batch); returns the batch's mean loss and accuracy.</summary>
    public (double Loss, double Accuracy) TrainOnBatch(ReadOnlySpan<float> x, ReadOnlySpan<int> y)
    {
        RequireCompiled();
        var executor = ExecutorFor(y.Length);
        x.CopyTo(executor.X);
        y.CopyTo(executor.Y);
        var (loss, correct) = executor.TrainStep(y.Length, Optimizer!);
        return (loss / y.Length, (double)correct / y.Length);
    }

    /// <summary>
    /// Trains <paramref name="steps"/> batches of <paramref name="batchSize"/> from (x, y), in order and cycling, and
    /// times each layer's forward and backward pass in the engine's own workers (the batch sums of a
    /// BatchNormalization included), for bench's per-layer table; also the whole steps' seconds and the parts of them
    /// outside the layers (<see cref="TrainingProfile"/>). The weights change as in training.
    /// </summary>
    public TrainingProfile ProfileTraining(float[] x, int[] y, int batchSize, int steps)
    {
        RequireCompiled();
        var executor = ExecutorFor(batchSize);
        int inputSize = Layers[0].InputSize, batches = Math.Max(1, y.Length / batchSize);
        executor.Profile(true);
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            for (int step = 0; step < steps; step++)
            {
                int first = step % batches * batchSize;
                x.AsSpan(first * inputSize, batchSize * inputSize).CopyTo(executor.X);
                y.AsSpan(first, batchSize).CopyTo(executor.Y);
                executor.TrainStep(batchSize, Optimizer!);
            }
            double stepSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds / steps;
            var ticks = executor.LayerTicks();
            var (loss, optimizer, refresh, combine) = executor.StepTicks();
            double perStep = 1.0 / (System.Diagnostics.Stopwatch.Frequency * (double)steps);
            return new TrainingProfile([.. Layers.Select((layer, l) =>
            {
                var (forward, backward) = LayerTiming.DenseFlops(layer, l == 0, batchSize);
                return new LayerTiming(layer.Name, LayerTiming.Describe(layer), ticks[l].Forward * perStep, ticks[l].Backward * perStep, forward, backward);
            })], stepSeconds, loss * perStep, optimizer * perStep, refresh * perStep, combine * perStep);
        }
        finally
        {
            executor.Profile(false);
        }
    }

    /// <summary>
    /// The batch's mean loss and its gradient for every trainable weight (model order, kernel then bias), computed in training
    /// mode without changing the weights — what a GradientTape over the loss would give.
    /// </summary>
    public (double Loss, float[][] Gradients) ComputeGradients(ReadOnlySpan<float> x, ReadOnlySpan<int> y)
    {
        RequireCompiled();
        var executor = ExecutorFor(y.Length);
        x.CopyTo(executor.X);
        y.CopyTo(executor.Y);
        var (loss, _) = executor.ComputeGradients(y.Length);
        return (loss / y.Length, executor.Gradients.Select(g => (float[])g.Clone()).ToArray());
    }

    /// <summary>Copies of every weight, layer by layer (kernel then bias; moving statistics too), as Keras's get_weights.</summary>
    public float[][] GetWeights() => Weights.Select(w => (float[])w.Value.Clone()).ToArray();

    public void SetWeights(IReadOnlyList<float[]> weights)
    {
        var variables = Weights;
        if (weights.Count != variables.Count)
            throw new ArgumentException($"The model has {variables.Count} weight arrays; {weights.Count} were given.");
        for (int i = 0; i < variables.Count; i++)
        {
            if (weights[i].Length != variables[i].Size)
                throw new ArgumentException($"Weight {i} ({variables[i].Name}, shape ({string.Join(", ", variables[i].Shape)})) needs {variables[i].Size} values; {weights[i].Length} were given.");
        }
        for (int i = 0; i < variables.Count; i++) weights[i].CopyTo(variables[i].Value, 0);
        foreach (var layer in Layers) layer.OnWeightsChanged();
    }

    /// <summary>Saves the architecture, compile settings and weights to one file (a zip: config.json + weights.bin).</summary>
    /// <summary>
    /// Saves the model: as Keras 3's own `.keras` file when the path ends in .keras (config, weights in HDF5, optimizer
    /// state), else in TwinTrain's older zip format.
    /// </summary>
    public void Save(string path)
    {
        if (Saving.KerasFile.IsKerasFile(path)) Saving.KerasFile.Save(this, path);
        else ModelFile.Save(this, path);
    }

    /// <summary>model.save_weights: the weights (and the optimizer's state) alone, in Keras 3's .weights.h5 layout.</summary>
    public void SaveWeights(string path) => Saving.KerasFile.SaveWeights(this, path);

    /// <summary>model.load_weights from a .weights.h5 file; a layer, weight or shape that does not fit is refused by name.</summary>
    public void LoadWeights(string path) => Saving.KerasFile.LoadWeights(this, path);

    /// <summary>Loads a `.keras` file (Keras 3's, or one this framework wrote) or a model in TwinTrain's older zip format.</summary>
    public static Sequential Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file.", path);
        bool keras;
        try
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(path);
            keras = zip.GetEntry("model.weights.h5") is not null || zip.GetEntry("model.weights.npz") is not null;
        }
        catch (InvalidDataException)
        {
            keras = false; // not a zip: the older reader says so, naming the file
        }
        return keras ? Saving.KerasFile.Load(path) : ModelFile.Load(path);
    }

    /// <summary>A table like Keras's model.summary().</summary>
    /// <summary>
    /// Keras 3's model.summary() as text: the layer table, then total, trainable and non-trainable parameters with their
    /// sizes, and the optimizer's variables once it has state (Keras counts its iterations and learning rate too).
    /// </summary>
    /// <param name="lineLength">The table's width; by default Keras's, min(88, terminal columns - 4).</param>
    public string Summary(int? lineLength = null)
    {
        var n = CultureInfo.InvariantCulture;
        var rows = Layers.Select(layer => ($"{layer.Name} ({LayerRegistry.ClassName(layer.GetType())})", Layer.Format(layer.OutputShape),
            layer.ParameterCount.ToString("N0", n))).ToList();
        var text = new StringBuilder($"Model: \"{Name}\"\n");
        text.Append(SummaryTable.Render(rows, lineLength ?? SummaryTable.DefaultLineLength()));
        long optimizerCount = 0;
        double optimizerBytes = 0;
        if (Optimizer is { } optimizer && (optimizer.Iterations > 0 || optimizer.GetState().Count > 0))
        {
            // Keras's optimizer.variables: iterations (int64), learning_rate (float32) and every slot (float32).
            long slots = optimizer.GetState().Sum(s => (long)s.Length);
            optimizerCount = 2 + slots;
            optimizerBytes = 8 + 4 + 4.0 * slots;
        }
        long total = ParameterCount + optimizerCount;
        text.Append($" Total params: {total.ToString("N0", n)} ({SummaryTable.Memory(4.0 * ParameterCount + optimizerBytes)})\n");
        text.Append($" Trainable params: {TrainableParameterCount.ToString("N0", n)} ({SummaryTable.Memory(4.0 * TrainableParameterCount)})\n");
        text.Append($" Non-trainable params: {NonTrainableParameterCount.ToString("N0", n)} ({SummaryTable.Memory(4.0 * NonTrainableParameterCount)})\n");
        if (optimizerCount > 0) text.Append($" Optimizer params: {optimizerCount.ToString("N0", n)} ({SummaryTable.Memory(optimizerBytes)})\n");
        return text.ToString();
    }

    internal void SetCompiledMetrics(string[] metrics) => _metrics = metrics;

    public void Dispose()
    {
        _executor?.Dispose();
        _executor = null;
    }
}
