using System.Diagnostics;
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
/// A layer that needs whole-batch sums in training (<see cref="IBatchReduction"/>, BatchNormalization) splits the
/// step into phases: the workers run up to it and add their sums, meet, the sums are combined in worker order, and
/// every worker goes on to the next such layer; the same in reverse for the backward pass. A ReLU layer right
/// after a layer that can compute it is fused into that layer and skipped.
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
        public required double[][] Sums;
        public double LossSum;
        public int Correct;
        public double WeightedCorrect, WeightSum;
        /// <summary>Between the phases of a step: whether GradientA holds the output gradient of the layer being reached.</summary>
        public bool GradientInA;
        /// <summary>When profiling: this worker's Stopwatch ticks in each layer's forward and backward pass (its batch sums included).</summary>
        public long[]? ForwardTicks, BackwardTicks;
        /// <summary>When profiling: this worker's ticks in the loss and its gradient.</summary>
        public long LossTicks;
    }

    readonly Layer[] _layers;
    readonly WorkerPool _pool;
    readonly Worker[] _workers;
    readonly Variable[] _variables;
    readonly (int Layer, int Index)[] _owners;
    readonly float[][] _reduced;
    readonly Action<int> _work, _update, _applyReduced, _refresh;
    /// <summary>Which worker refreshes each layer's derived copies of its weights after a step (the largest first, each to the least loaded).</summary>
    readonly int[] _refresher;
    /// <summary>Layers whose output gradient arrives with their activation's derivative applied (by a max pooling after a ReLU).</summary>
    readonly bool[] _gradientPreActivation;
    /// <summary>ReLU layers computed by the layer before them, and skipped.</summary>
    readonly bool[] _absorbed;
    /// <summary>The layers that reduce over the batch in training, in order, and the work of one phase of such a step.</summary>
    readonly int[] _reducing;
    readonly Action<int> _phaseWork;
    int _phase;
    readonly int _inputSize, _outputSize;

    Mode _mode;
    int _count;
    long _step;
    bool _logitsOut, _fromLogits;
    IDataset? _source;
    int[]? _sourceIndices;
    int _sourceOffset;
    float[]? _sourceWeights, _classWeights;
    bool _weighted;
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
        SampleWeights = new float[capacity];
        int workers = Math.Max(1, Math.Min(threads, capacity));
        _absorbed = new bool[_layers.Length];
        for (int l = 1; l < _layers.Length; l++)
        {
            // A plain ReLU layer after a linear Conv2D or Dense, or a BatchNormalization: computed in that layer's pass.
            bool relu = _layers[l] is ActivationLayer { Function: Activation.Relu } && !_layers[l].DeferActivation;
            _absorbed[l] = relu && !_absorbed[l - 1] && _layers[l - 1].CanFuseRelu;
            _layers[l - 1].FuseRelu = _absorbed[l];
        }
        _reducing = [.. Enumerable.Range(0, _layers.Length).Where(l => _layers[l] is IBatchReduction)];
        // Whole-batch sums need each worker's whole share at once; otherwise micro-batches keep activations in L2.
        int share = (capacity + workers - 1) / workers;
        if (_reducing.Length == 0) share = Math.Min(share, MicroBatch);
        _microBatch = share;
        int largest = layers.Max(l => Math.Max(l.InputSize, l.OutputSize));
        _workers = Enumerable.Range(0, workers).Select(_ =>
        {
            var activations = new AlignedBuffer[_layers.Length];
            for (int l = 0; l < activations.Length; l++)
                activations[l] = _absorbed[l] ? activations[l - 1] : new AlignedBuffer(share * _layers[l].OutputSize);
            return new Worker
            {
                Activations = activations,
                GradientA = new AlignedBuffer(share * largest),
                GradientB = new AlignedBuffer(share * largest),
                Scratch = layers.Select(l => new AlignedBuffer(l.ScratchSize(share))).ToArray(),
                WeightGradients = layers.Select(l => l.TrainableWeights.Select(w => new float[w.Size]).ToArray()).ToArray(),
                Sums = layers.Select(l => new double[(l as IBatchReduction)?.ReductionSize ?? 0]).ToArray(),
            };
        }).ToArray();
        _gradientPreActivation = new bool[_layers.Length];
        for (int l = 0; l + 1 < _layers.Length; l++)
        {
            // Max pooling after a ReLU (the layer's own, a fused one, or a ReLU layer) applies the ReLU's derivative.
            int pool = After(l);
            if (_absorbed[l] || pool >= _layers.Length || _layers[pool] is not MaxPooling2D maxPooling) continue;
            if (!_layers[l].EndsInRelu) continue;
            maxPooling.AppliesReluDerivative = true;
            _gradientPreActivation[l] = true;
        }
        // Only max pooling makes a convolution's output gradient mostly zeros; elsewhere it is dense, and counting its
        // zeros is a pass for nothing.
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l] is not Conv2D conv) continue;
            int after = After(l);
            conv.DenseGradient = after >= _layers.Length || _layers[after] is not MaxPooling2D;
        }
        _variables = layers.SelectMany(l => l.TrainableWeights).ToArray();
        _owners = layers.SelectMany((l, i) => l.TrainableWeights.Select((_, j) => (i, j))).ToArray();
        _reduced = _variables.Select(v => new float[v.Size]).ToArray();
        _sums = layers.Select(l => new double[(l as IBatchReduction)?.ReductionSize ?? 0]).ToArray();
        _pool = new WorkerPool(workers);
        _work = Work;
        _phaseWork = PhaseWork;
        _update = Update;
        _applyReduced = ApplyReduced;
        _refresher = new int[_layers.Length];
        var load = new long[workers];
        foreach (int l in Enumerable.Range(0, _layers.Length).OrderByDescending(l => _layers[l].ParameterCount).ThenBy(l => l))
        {
            int least = Array.IndexOf(load, load.Min());
            _refresher[l] = least;
            load[least] += _layers[l].ParameterCount;
        }
        _refresh = w =>
        {
            for (int l = 0; l < _layers.Length; l++) if (_refresher[l] == w) _layers[l].OnWeightsChanged();
        };
    }

    /// <summary>The layer that takes layer l's output: the next, or the one after a ReLU fused into l.</summary>
    int After(int l) => l + 1 < _layers.Length && _absorbed[l + 1] ? l + 2 : l + 1;

    readonly int _microBatch;
    /// <summary>The workers' sums of a reducing layer, added in worker order.</summary>
    readonly double[][] _sums;

    /// <summary>
    /// Samples a worker takes through the whole network at once; weight gradients accumulate across micro-batches.
    /// It bounds the per-worker buffers whatever the batch size. Measured on the study's CNN, 8, 16, 32 and 64 ran
    /// at the same speed within this machine's noise, and smaller ones make the dense layers' products less
    /// efficient, so 32.
    /// </summary>
    const int MicroBatch = 32;

    public int Capacity { get; }
    public int Threads => _workers.Length;

    /// <summary>
    /// Starts (or stops) timing every layer's passes in every worker, for <see cref="LayerTicks"/>. Off, the passes
    /// pay one null check per layer.
    /// </summary>
    public void Profile(bool on)
    {
        foreach (var worker in _workers)
        {
            worker.ForwardTicks = on ? new long[_layers.Length] : null;
            worker.BackwardTicks = on ? new long[_layers.Length] : null;
            worker.LossTicks = 0;
        }
        _stepTicks = on ? new long[3] : null;
    }

    /// <summary>When profiling: the calling thread's ticks in the optimizer's pass, the weight copies' refresh, and the batch sums combined between phases.</summary>
    long[]? _stepTicks;

    /// <summary>
    /// The ticks since profiling began of the step's parts outside the layers: the loss (averaged over the workers,
    /// which run side by side), the optimizer's pass (each worker sums the workers' gradients of its share of the
    /// weights and updates them), the layers' derived weight copies refreshed, and BatchNormalization's whole-batch
    /// sums combined on the calling thread between the passes.
    /// </summary>
    public (double Loss, long Optimizer, long Refresh, long Combine) StepTicks() => (
        _workers.Average(w => (double)w.LossTicks), _stepTicks?[0] ?? 0, _stepTicks?[1] ?? 0, _stepTicks?[2] ?? 0);

    /// <summary>Each layer's forward and backward ticks since profiling began, averaged over the workers (which run side by side).</summary>
    public (double Forward, double Backward)[] LayerTicks() =>
        [.. Enumerable.Range(0, _layers.Length).Select(l => (
            _workers.Average(w => (double)(w.ForwardTicks?[l] ?? 0)),
            _workers.Average(w => (double)(w.BackwardTicks?[l] ?? 0))))];
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
    /// <param name="sampleWeights">Per sample of <paramref name="source"/> (by its index), the weight of its loss; null for none.</param>
    /// <param name="classWeights">Per class, the weight of its samples' losses (Keras's class_weight); null for none.</param>
    public void ReadFrom(IDataset source, int[] indices, int offset, float[]? sampleWeights = null, float[]? classWeights = null)
    {
        _source = source;
        _sourceIndices = indices;
        _sourceOffset = offset;
        _sourceWeights = sampleWeights;
        _classWeights = classWeights;
        _weighted = sampleWeights is not null || classWeights is not null;
    }

    /// <summary>Has the next step weight each sample's loss by <see cref="SampleWeights"/> (already filled by the caller).</summary>
    public void UseSampleWeights() => _weighted = true;

    /// <summary>
    /// Per sample of the batch, the weight of its loss and metrics (Keras's sample_weight: the batch loss is
    /// Σ wᵢ·lossᵢ / batch size, the accuracy Σ wᵢ·correctᵢ / Σ wᵢ); used only in steps that ask for it.
    /// </summary>
    public float[] SampleWeights { get; }

    /// <summary>The last step's Σ wᵢ·correctᵢ and Σ wᵢ (with unit weights: the hits and the sample count).</summary>
    public (double WeightedCorrect, double WeightSum) WeightedTotals
    {
        get
        {
            double correct = 0, sum = 0;
            foreach (var worker in _workers) { correct += worker.WeightedCorrect; sum += worker.WeightSum; }
            return (correct, sum);
        }
    }

    /// <summary>One optimizer step on the first <paramref name="count"/> samples of X/Y; returns summed loss and hits.</summary>
    public (double LossSum, int Correct) TrainStep(int count, Optimizer optimizer)
    {
        Run(Mode.Train, count);
        long updateFrom = Stopwatch.GetTimestamp();
        optimizer.BeginStep(_variables);
        if (optimizer.NeedsGradientNorms)
        {
            // clipnorm and global_clipnorm need each gradient whole: reduce everything, take the norms, then update.
            _pool.Run(_update);
            optimizer.ScaleByNorms(_reduced);
            _optimizer = optimizer;
            _pool.Run(_applyReduced);
        }
        else
        {
            _optimizer = optimizer;
            _pool.Run(_update);
        }
        _optimizer = null;
        optimizer.EndStep();
        long refreshFrom = Stopwatch.GetTimestamp();
        // Each layer's copies (transposed, Winograd-transformed kernels) depend on its weights alone: side by side.
        _pool.Run(_refresh);
        if (_stepTicks is { } ticks)
        {
            ticks[0] += refreshFrom - updateFrom;
            ticks[1] += Stopwatch.GetTimestamp() - refreshFrom;
        }
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

    /// <summary>Worker w's share of every weight updated from the gradients <see cref="Update"/> already reduced.</summary>
    void ApplyReduced(int w)
    {
        for (int v = 0; v < _variables.Length; v++)
        {
            int size = _variables[v].Size;
            int start = Share(size, w), end = Share(size, w + 1);
            if (start < end) _optimizer!.Update(v, start, _variables[v].Value.AsSpan(start, end - start), _reduced[v].AsSpan(start, end - start));
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
            if (mode != Mode.Train || _reducing.Length == 0)
            {
                _pool.Run(_work);
                return;
            }
            int reductions = _reducing.Length;
            for (_phase = 0; _phase <= 2 * reductions; _phase++)
            {
                _pool.Run(_phaseWork);
                if (_phase == 2 * reductions) break;
                long combineFrom = Stopwatch.GetTimestamp();
                bool forward = _phase < reductions;
                int l = _reducing[forward ? _phase : 2 * reductions - 1 - _phase];
                var total = _sums[l];
                Array.Clear(total);
                foreach (var worker in _workers) TensorPrimitives.Add(total, worker.Sums[l], total);
                var layer = (IBatchReduction)_layers[l];
                if (forward) layer.CombineForward(total, count);
                else layer.CombineBackward(total, count);
                if (_stepTicks is { } ticks) ticks[2] += Stopwatch.GetTimestamp() - combineFrom;
            }
        }
        finally
        {
            _source = null;
            _sourceIndices = null;
            _sourceWeights = null;
            _classWeights = null;
            _weighted = false;
        }
    }

    /// <summary>Worker w's share of the batch: its first sample and how many.</summary>
    (int Start, int Count) ShareOf(int w)
    {
        int start = (int)((long)_count * w / _workers.Length);
        return (start, (int)((long)_count * (w + 1) / _workers.Length) - start);
    }

    /// <summary>Starts a step on worker w: clears what it accumulates and reads its samples.</summary>
    void Begin(Worker worker, int start, int n)
    {
        worker.LossSum = 0;
        worker.Correct = 0;
        worker.WeightedCorrect = 0;
        worker.WeightSum = 0;
        worker.GradientInA = true;
        if (_mode == Mode.Train)
        {
            foreach (var layerGradients in worker.WeightGradients)
                foreach (var weightGradient in layerGradients) Array.Clear(weightGradient);
            foreach (var sums in worker.Sums) Array.Clear(sums);
        }
        if (n > 0) _source?.Fill(_sourceIndices.AsSpan(_sourceOffset + start, n), X.AsSpan(start * _inputSize, n * _inputSize), Y.AsSpan(start, n));
        if (_sourceWeights is { } weights)
            for (int i = start; i < start + n; i++) SampleWeights[i] = weights[_sourceIndices![_sourceOffset + i]];
        if (_classWeights is { } classes)
            for (int i = start; i < start + n; i++) SampleWeights[i] = (uint)Y[i] < (uint)classes.Length ? classes[Y[i]] : 1f;
    }

    void Work(int w)
    {
        var worker = _workers[w];
        var (start, n) = ShareOf(w);
        Begin(worker, start, n);
        bool training = _mode == Mode.Train;
        for (int offset = 0; offset < n; offset += _microBatch)
        {
            int first = start + offset, count = Math.Min(_microBatch, n - offset);
            Forward(worker, first, count, 0, _layers.Length);
            if (_mode == Mode.Predict)
            {
                WritePredictions(worker, first, count);
                continue;
            }
            Loss(worker, first, count);
            if (!training) continue;
            worker.GradientInA = true;
            Backward(worker, first, count, _layers.Length - 1, 0);
        }
    }

    /// <summary>
    /// Phase p of a training step with reducing layers R[0..k): p &lt; k runs forward up to R[p] and adds its sums;
    /// p = k runs the rest forward, the loss, and backward down to R[k-1]; then backward from R[j] down to R[j-1]
    /// (adding R[j-1]'s sums); the last phase (2k) backward from R[0] to the first layer. Each worker takes its whole share.
    /// </summary>
    void PhaseWork(int w)
    {
        var worker = _workers[w];
        var (first, n) = ShareOf(w);
        int k = _reducing.Length, p = _phase;
        if (p == 0) Begin(worker, first, n);
        if (n == 0) return;
        if (p < k)
        {
            int layer = _reducing[p];
            Forward(worker, first, n, p == 0 ? 0 : _reducing[p - 1], layer);
            long sumsFrom = Stopwatch.GetTimestamp();
            ((IBatchReduction)_layers[layer]).AddForwardSums(Input(worker, layer, first, n), n, worker.Sums[layer]);
            if (worker.ForwardTicks is { } forwardTicks) forwardTicks[layer] += Stopwatch.GetTimestamp() - sumsFrom;
            return;
        }
        int from;
        if (p == k)
        {
            Forward(worker, first, n, _reducing[k - 1], _layers.Length);
            Loss(worker, first, n);
            from = _layers.Length - 1;
        }
        else from = _reducing[2 * k - p];
        int downTo = p == 2 * k ? 0 : _reducing[2 * k - 1 - p];
        Backward(worker, first, n, from, p == 2 * k ? 0 : downTo + 1);
        if (p == 2 * k) return;
        var output = worker.Activations[downTo].AsSpan(0, n * _layers[downTo].OutputSize);
        Array.Clear(worker.Sums[downTo]); // it held the forward pass's sums
        long backwardSumsFrom = Stopwatch.GetTimestamp();
        ((IBatchReduction)_layers[downTo]).AddBackwardSums(Input(worker, downTo, first, n), output, OutputGradient(worker).AsSpan(0, output.Length),
            n, worker.WeightGradients[downTo], worker.Sums[downTo], _gradientPreActivation[downTo]);
        if (worker.BackwardTicks is { } backwardTicks) backwardTicks[downTo] += Stopwatch.GetTimestamp() - backwardSumsFrom;
    }

    ReadOnlySpan<float> Input(Worker worker, int layer, int first, int n) => layer == 0
        ? X.AsSpan(first * _inputSize, n * _inputSize)
        : worker.Activations[layer - 1].AsSpan(0, n * _layers[layer].InputSize);

    static AlignedBuffer OutputGradient(Worker worker) => worker.GradientInA ? worker.GradientA : worker.GradientB;

    /// <summary>Layers [from, to) forward for samples [first, first + n) of the batch.</summary>
    void Forward(Worker worker, int first, int n, int from, int to)
    {
        var context = new CallContext(_mode == Mode.Train, _step, first);
        for (int l = from; l < to; l++)
        {
            if (_absorbed[l]) continue;
            long started = worker.ForwardTicks is null ? 0 : Stopwatch.GetTimestamp();
            var output = worker.Activations[l].AsSpan(0, n * _layers[l].OutputSize);
            _layers[l].Call(Input(worker, l, first, n), output, n, context, worker.Scratch[l].Span);
            if (worker.ForwardTicks is { } ticks) ticks[l] += Stopwatch.GetTimestamp() - started;
        }
    }

    void WritePredictions(Worker worker, int first, int n)
    {
        var outputs = worker.Activations[^1].AsSpan(0, n * _outputSize);
        var target = _predictions.AsSpan((_predictionOffset + first) * _outputSize, n * _outputSize);
        outputs.CopyTo(target);
        if (_logitsOut)
            for (int i = 0; i < n; i++) Activations.Softmax(target.Slice(i * _outputSize, _outputSize));
    }

    /// <summary>The loss of samples [first, first + n) and, into GradientA, its gradient with respect to the outputs.</summary>
    void Loss(Worker worker, int first, int n)
    {
        long started = worker.ForwardTicks is null ? 0 : Stopwatch.GetTimestamp();
        var outputs = worker.Activations[^1].AsSpan(0, n * _outputSize);
        float scale = 1f / _count;
        var gradient = worker.GradientA.AsSpan(0, n * _outputSize);
        for (int i = 0; i < n; i++)
        {
            var row = outputs.Slice(i * _outputSize, _outputSize);
            var rowGradient = gradient.Slice(i * _outputSize, _outputSize);
            int label = Y[first + i];
            float weight = _weighted ? SampleWeights[first + i] : 1f;
            var (loss, correct) = _fromLogits
                ? SparseCategoricalCrossentropy.FromLogitsRow(row, label, scale * weight, rowGradient)
                : SparseCategoricalCrossentropy.FromProbabilitiesRow(row, label, scale * weight, rowGradient);
            worker.LossSum += weight * loss;
            if (correct) { worker.Correct++; worker.WeightedCorrect += weight; }
            worker.WeightSum += weight;
        }
        worker.GradientInA = true;
        if (worker.ForwardTicks is not null) worker.LossTicks += Stopwatch.GetTimestamp() - started;
    }

    /// <summary>Layers from down to downTo (inclusive) backward; the output gradient of the layer reached is left in the worker's current buffer.</summary>
    void Backward(Worker worker, int first, int n, int from, int downTo)
    {
        for (int l = from; l >= downTo; l--)
        {
            if (_absorbed[l]) continue;
            var layer = _layers[l];
            AlignedBuffer outputGradient = OutputGradient(worker), inputGradient = worker.GradientInA ? worker.GradientB : worker.GradientA;
            var dx = l == 0 ? Span<float>.Empty : inputGradient.AsSpan(0, n * layer.InputSize);
            long started = worker.BackwardTicks is null ? 0 : Stopwatch.GetTimestamp();
            layer.Backward(Input(worker, l, first, n), worker.Activations[l].AsSpan(0, n * layer.OutputSize), outputGradient.AsSpan(0, n * layer.OutputSize),
                dx, n, worker.WeightGradients[l], worker.Scratch[l].Span, preActivation: l == _layers.Length - 1 ? _logitsOut : _gradientPreActivation[l]);
            if (worker.BackwardTicks is { } ticks) ticks[l] += Stopwatch.GetTimestamp() - started;
            worker.GradientInA = !worker.GradientInA;
        }
    }

    public void Dispose() => _pool.Dispose();
}
