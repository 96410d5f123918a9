using System.Numerics.Tensors;
using TwinTrain.Keras.Data;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Losses;
using TwinTrain.Keras.Optimizers;

namespace TwinTrain.Keras.Engine;

/// <summary>
/// Runs a stack of layers over batches, data-parallel: each worker takes a fixed contiguous share of the batch
/// through the whole network with its own activations, scratch and weight gradients; gradients are then summed in
/// worker order, so a given thread count always gives bitwise the same result. All buffers are allocated once, for
/// batches up to <see cref="Capacity"/>; a step allocates nothing.
/// </summary>
internal sealed class Executor : IDisposable
{
    enum Mode { Train, Evaluate, Predict }

    sealed class Worker
    {
        public required AlignedBuffer[] Activations;
        public required AlignedBuffer GradientA, GradientB;
        public required AlignedBuffer[] Scratch;
        public required float[][][] WeightGradients;
        public double LossSum;
        public int Correct;
    }

    readonly Layer[] _layers;
    readonly WorkerPool _pool;
    readonly Worker[] _workers;
    readonly Variable[] _variables;
    readonly (int Layer, int Index)[] _owners;
    readonly float[][] _reduced;
    readonly Action<int> _work, _update;
    /// <summary>Layers whose output gradient arrives with their activation's derivative applied (by a max pooling after a ReLU).</summary>
    readonly bool[] _gradientPreActivation;
    readonly int _inputSize, _outputSize;

    Mode _mode;
    int _count;
    long _step;
    bool _logitsOut, _fromLogits;
    IDataset? _source;
    int[]? _sourceIndices;
    int _sourceOffset;
    float[]? _predictions;
    Optimizer? _optimizer;
    int _predictionOffset;

    public Executor(IReadOnlyList<Layer> layers, int capacity, int threads)
    {
        _layers = [.. layers];
        Capacity = capacity;
        _inputSize = layers[0].InputSize;
        _outputSize = layers[^1].OutputSize;
        X = new float[capacity * _inputSize];
        Y = new int[capacity];
        int workers = Math.Max(1, Math.Min(threads, capacity));
        int share = Math.Min((capacity + workers - 1) / workers, MicroBatch);
        int largest = layers.Max(l => Math.Max(l.InputSize, l.OutputSize));
        _workers = Enumerable.Range(0, workers).Select(_ => new Worker
        {
            Activations = layers.Select(l => new AlignedBuffer(share * l.OutputSize)).ToArray(),
            GradientA = new AlignedBuffer(share * largest),
            GradientB = new AlignedBuffer(share * largest),
            Scratch = layers.Select(l => new AlignedBuffer(l.ScratchSize(share))).ToArray(),
            WeightGradients = layers.Select(l => l.Weights.Select(w => new float[w.Size]).ToArray()).ToArray(),
        }).ToArray();
        _gradientPreActivation = new bool[_layers.Length];
        for (int l = 0; l + 1 < _layers.Length; l++)
        {
            if (_layers[l + 1] is MaxPooling2D pool && _layers[l] is Conv2D { Activation: Activation.Relu } or Dense { Activation: Activation.Relu })
            {
                pool.AppliesReluDerivative = true;
                _gradientPreActivation[l] = true;
            }
        }
        _variables = layers.SelectMany(l => l.Weights).ToArray();
        _owners = layers.SelectMany((l, i) => l.Weights.Select((_, j) => (i, j))).ToArray();
        _reduced = _variables.Select(v => new float[v.Size]).ToArray();
        _pool = new WorkerPool(workers);
        _work = Work;
        _update = Update;
    }

    /// <summary>
    /// Samples a worker takes through the whole network at once; weight gradients accumulate across micro-batches.
    /// It bounds the per-worker buffers whatever the batch size. Measured on the study's CNN, 8, 16, 32 and 64 ran
    /// at the same speed within this machine's noise, and smaller ones make the dense layers' products less
    /// efficient, so 32.
    /// </summary>
    const int MicroBatch = 32;

    public int Capacity { get; }
    public int Threads => _workers.Length;
    /// <summary>The batch to run: inputs of <see cref="Count"/> samples, one after another, and their labels.</summary>
    public float[] X { get; }
    public int[] Y { get; }

    /// <summary>
    /// Whether the last layer's softmax is deferred to the loss (fused, stable) so the network's output is logits,
    /// and whether the loss takes logits at all.
    /// </summary>
    public void Configure(bool logitsOut, bool fromLogits)
    {
        _logitsOut = logitsOut;
        _fromLogits = fromLogits || logitsOut;
    }

    /// <summary>
    /// Has the next step read its samples from <paramref name="source"/> (indices[offset..offset+count]) rather than
    /// from X/Y as they are: each worker converts its own share, in parallel.
    /// </summary>
    public void ReadFrom(IDataset source, int[] indices, int offset)
    {
        _source = source;
        _sourceIndices = indices;
        _sourceOffset = offset;
    }

    /// <summary>One optimizer step on the first <paramref name="count"/> samples of X/Y; returns summed loss and hits.</summary>
    public (double LossSum, int Correct) TrainStep(int count, Optimizer optimizer)
    {
        Run(Mode.Train, count);
        optimizer.BeginStep(_variables);
        _optimizer = optimizer;
        _pool.Run(_update);
        _optimizer = null;
        optimizer.EndStep();
        foreach (var layer in _layers) layer.OnWeightsChanged();
        _step++;
        return Totals();
    }

    /// <summary>The gradient of the batch's mean loss for every weight (in <see cref="Gradients"/>), without updating anything.</summary>
    public (double LossSum, int Correct) ComputeGradients(int count)
    {
        Run(Mode.Train, count);
        _pool.Run(_update);
        return Totals();
    }

    /// <summary>
    /// Worker w's share of every weight: sums the workers' gradients there (in worker order, so the result does not
    /// depend on the split) and, in a training step, has the optimizer update it.
    /// </summary>
    void Update(int w)
    {
        for (int v = 0; v < _variables.Length; v++)
        {
            int size = _variables[v].Size;
            int start = Share(size, w), end = Share(size, w + 1);
            if (start == end) continue;
            var sum = _reduced[v].AsSpan(start, end - start);
            var (layer, index) = _owners[v];
            _workers[0].WeightGradients[layer][index].AsSpan(start, end - start).CopyTo(sum);
            for (int other = 1; other < _workers.Length; other++)
                TensorPrimitives.Add(sum, _workers[other].WeightGradients[layer][index].AsSpan(start, end - start), sum);
            _optimizer?.Update(v, start, _variables[v].Value.AsSpan(start, end - start), sum);
        }
    }

    /// <summary>Where worker w's share of n elements starts: whole cache lines each, the last takes the rest.</summary>
    int Share(int n, int w) => w == _workers.Length ? n : Math.Min(n, (int)((long)n * w / _workers.Length) / AlignedBuffer.LineFloats * AlignedBuffer.LineFloats);

    /// <summary>The summed gradients of the last step, one array per weight in model order.</summary>
    public IReadOnlyList<float[]> Gradients => _reduced;

    public (double LossSum, int Correct) EvaluateBatch(int count)
    {
        Run(Mode.Evaluate, count);
        return Totals();
    }

    /// <summary>Writes the outputs (probabilities where the model ends in softmax) of X's first samples into predictions.</summary>
    public void PredictBatch(int count, float[] predictions, int offset)
    {
        _predictions = predictions;
        _predictionOffset = offset;
        Run(Mode.Predict, count);
        _predictions = null;
    }

    (double, int) Totals()
    {
        double loss = 0;
        int correct = 0;
        foreach (var worker in _workers)
        {
            loss += worker.LossSum;
            correct += worker.Correct;
        }
        return (loss, correct);
    }

    void Run(Mode mode, int count)
    {
        if (count > Capacity) throw new ArgumentOutOfRangeException(nameof(count), $"A batch of {count} exceeds the capacity {Capacity}.");
        _mode = mode;
        _count = count;
        try
        {
            _pool.Run(_work);
        }
        finally
        {
            _source = null;
            _sourceIndices = null;
        }
    }

    void Work(int w)
    {
        var worker = _workers[w];
        worker.LossSum = 0;
        worker.Correct = 0;
        int start = (int)((long)_count * w / _workers.Length);
        int n = (int)((long)_count * (w + 1) / _workers.Length) - start;
        bool training = _mode == Mode.Train;
        if (training)
        {
            foreach (var layerGradients in worker.WeightGradients)
                foreach (var weightGradient in layerGradients) Array.Clear(weightGradient);
        }
        if (n == 0) return;
        _source?.Fill(_sourceIndices.AsSpan(_sourceOffset + start, n), X.AsSpan(start * _inputSize, n * _inputSize), Y.AsSpan(start, n));
        for (int offset = 0; offset < n; offset += MicroBatch)
            Pass(worker, start + offset, Math.Min(MicroBatch, n - offset), training);
    }

    /// <summary>Forward (and in training, loss gradient and backward) for samples [first, first + n) of the batch.</summary>
    void Pass(Worker worker, int first, int n, bool training)
    {
        var context = new CallContext(training, _step, first);
        ReadOnlySpan<float> input = X.AsSpan(first * _inputSize, n * _inputSize);
        for (int l = 0; l < _layers.Length; l++)
        {
            var output = worker.Activations[l].AsSpan(0, n * _layers[l].OutputSize);
            _layers[l].Call(input, output, n, context, worker.Scratch[l].Span);
            input = output;
        }
        var outputs = worker.Activations[^1].AsSpan(0, n * _outputSize);

        if (_mode == Mode.Predict)
        {
            var target = _predictions.AsSpan((_predictionOffset + first) * _outputSize, n * _outputSize);
            outputs.CopyTo(target);
            if (_logitsOut)
                for (int i = 0; i < n; i++) Activations.Softmax(target.Slice(i * _outputSize, _outputSize));
            return;
        }

        float scale = 1f / _count;
        var gradient = worker.GradientA.AsSpan(0, n * _outputSize);
        for (int i = 0; i < n; i++)
        {
            var row = outputs.Slice(i * _outputSize, _outputSize);
            var rowGradient = gradient.Slice(i * _outputSize, _outputSize);
            int label = Y[first + i];
            var (loss, correct) = _fromLogits
                ? SparseCategoricalCrossentropy.FromLogitsRow(row, label, scale, rowGradient)
                : SparseCategoricalCrossentropy.FromProbabilitiesRow(row, label, scale, rowGradient);
            worker.LossSum += loss;
            if (correct) worker.Correct++;
        }
        if (!training) return;

        AlignedBuffer outputGradient = worker.GradientA, inputGradient = worker.GradientB;
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            var layer = _layers[l];
            ReadOnlySpan<float> layerInput = l == 0 ? X.AsSpan(first * _inputSize, n * _inputSize) : worker.Activations[l - 1].AsSpan(0, n * layer.InputSize);
            var dx = l == 0 ? Span<float>.Empty : inputGradient.AsSpan(0, n * layer.InputSize);
            layer.Backward(layerInput, worker.Activations[l].AsSpan(0, n * layer.OutputSize), outputGradient.AsSpan(0, n * layer.OutputSize),
                dx, n, worker.WeightGradients[l], worker.Scratch[l].Span, preActivation: l == _layers.Length - 1 ? _logitsOut : _gradientPreActivation[l]);
            (outputGradient, inputGradient) = (inputGradient, outputGradient);
        }
    }

    public void Dispose() => _pool.Dispose();
}
