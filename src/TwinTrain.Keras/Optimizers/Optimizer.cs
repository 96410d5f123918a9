namespace TwinTrain.Keras.Optimizers;

/// <summary>Updates weights from their gradients. State (moments, step count) is per weight, created on first use.</summary>
public abstract class Optimizer
{
    protected Optimizer(double learningRate)
    {
        if (!(learningRate > 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), "The learning rate must be positive.");
        LearningRate = learningRate;
    }

    public double LearningRate { get; set; }

    /// <summary>
    /// Keras's decoupled weight decay, applied to each weight before its update as w − w·wd·lr (in float32, as
    /// keras/src/optimizers/base_optimizer.py's _apply_weight_decay); null for none. AdamW sets 0.004.
    /// </summary>
    public double? WeightDecay
    {
        get => _weightDecay;
        init => _weightDecay = value is null or >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(WeightDecay), "weight_decay must be 0 or more.");
    }

    /// <summary>Each gradient element clipped to [−clipvalue, clipvalue] before the update (Keras's clipvalue); null for none.</summary>
    public double? ClipValue
    {
        get => _clipValue;
        init => _clipValue = value is null or > 0 ? value : throw new ArgumentOutOfRangeException(nameof(ClipValue), "clipvalue must be positive.");
    }

    /// <summary>Each gradient tensor scaled to an L2 norm of at most clipnorm (Keras's clipnorm: g·c / max(‖g‖, c)); null for none.</summary>
    public double? ClipNorm
    {
        get => _clipNorm;
        init => _clipNorm = value is null or > 0 ? value : throw new ArgumentOutOfRangeException(nameof(ClipNorm), "clipnorm must be positive.");
    }

    /// <summary>All gradients scaled together to a global L2 norm of at most global_clipnorm (Keras's clip_by_global_norm); null for none.</summary>
    public double? GlobalClipNorm
    {
        get => _globalClipNorm;
        init => _globalClipNorm = value is null or > 0 ? value : throw new ArgumentOutOfRangeException(nameof(GlobalClipNorm), "global_clipnorm must be positive.");
    }

    double? _weightDecay, _clipValue, _clipNorm, _globalClipNorm;
    float[] _gradientScale = [];

    /// <summary>
    /// Whether the update needs every gradient tensor whole before any part of it is updated (to compute norms):
    /// the executor then reduces all gradients first and calls <see cref="ScaleByNorms"/>.
    /// </summary>
    public bool NeedsGradientNorms => _clipNorm is not null || _globalClipNorm is not null;

    /// <summary>
    /// From the step's whole gradients, the factor each weight's gradient is multiplied by: Keras's _clip_by_norm per
    /// tensor (c / max(‖g‖, c)) or clip_by_global_norm (c·min(1/‖G‖, 1/c), NaN when ‖G‖ is not finite).
    /// </summary>
    public void ScaleByNorms(IReadOnlyList<float[]> gradients)
    {
        if (_gradientScale.Length != gradients.Count) _gradientScale = new float[gradients.Count];
        if (_clipNorm is double clip)
        {
            float c = (float)clip;
            for (int i = 0; i < gradients.Count; i++)
            {
                float norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(gradients[i]));
                _gradientScale[i] = c / MathF.Max(norm, c);
            }
        }
        else if (_globalClipNorm is double global)
        {
            float squares = 0;
            foreach (var g in gradients) squares += System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(g);
            float norm = MathF.Sqrt(squares), c = (float)global;
            float scale = c * MathF.Min(1 / norm, 1 / c) + (norm - norm);
            Array.Fill(_gradientScale, scale);
        }
    }

    /// <summary>Number of updates applied so far (Keras's optimizer.iterations).</summary>
    public long Iterations { get; protected set; }

    public abstract string Name { get; }

    /// <summary>Applies one update to every weight, given the gradient of each (same order).</summary>
    public void Apply(IReadOnlyList<Variable> weights, IReadOnlyList<float[]> gradients)
    {
        BeginStep(weights);
        if (NeedsGradientNorms) ScaleByNorms(gradients);
        for (int i = 0; i < weights.Count; i++) Update(i, 0, weights[i].Value, gradients[i]);
        EndStep();
    }

    /// <summary>
    /// One update in parts, so that threads can share it: <see cref="BeginStep"/>, then <see cref="Update"/> on
    /// disjoint ranges of the weights (each element's update depends on that element alone), then <see cref="EndStep"/>.
    /// </summary>
    public void BeginStep(IReadOnlyList<Variable> weights)
    {
        CheckOneClipping();
        EnsureState(weights);
    }

    /// <summary>
    /// Updates elements [offset, offset + value.Length) of weight <paramref name="index"/>: clips the gradient and
    /// decays the weight where asked (both elementwise, so any slicing gives the same result), then the optimizer's step.
    /// </summary>
    public void Update(int index, int offset, Span<float> value, ReadOnlySpan<float> gradient)
    {
        if (_weightDecay is double decay && decay > 0)
        {
            // variable.assign(variable - variable * wd * lr), each operand float32.
            float wd = (float)decay, lr = (float)LearningRate;
            for (int i = 0; i < value.Length; i++) value[i] -= value[i] * wd * lr;
        }
        if (_clipValue is null && !NeedsGradientNorms)
        {
            UpdateStep(index, offset, value, gradient);
            return;
        }
        // The clipped gradient into a stack buffer, chunk by chunk: no allocation per step. Keras applies one of
        // clipnorm, global_clipnorm and clipvalue (they exclude each other).
        Span<float> clipped = stackalloc float[256];
        float limit = (float)(_clipValue ?? 0), scale = NeedsGradientNorms ? _gradientScale[index] : 1;
        bool byValue = _clipValue is not null;
        for (int start = 0; start < value.Length; start += clipped.Length)
        {
            int n = Math.Min(clipped.Length, value.Length - start);
            if (byValue)
                for (int i = 0; i < n; i++) clipped[i] = Math.Clamp(gradient[start + i], -limit, limit);
            else
                System.Numerics.Tensors.TensorPrimitives.Multiply(gradient.Slice(start, n), scale, clipped[..n]);
            UpdateStep(index, offset + start, value.Slice(start, n), clipped[..n]);
        }
    }

    /// <summary>The optimizer's own update of elements [offset, offset + value.Length) of weight <paramref name="index"/>.</summary>
    protected abstract void UpdateStep(int index, int offset, Span<float> value, ReadOnlySpan<float> gradient);

    public void EndStep() => Iterations++;

    /// <summary>Creates the state on first use and computes what is per step (such as Adam's bias correction).</summary>
    protected abstract void EnsureState(IReadOnlyList<Variable> weights);

    public virtual Dictionary<string, object?> GetConfig() => new()
    {
        ["name"] = Name,
        ["learning_rate"] = LearningRate,
        ["weight_decay"] = WeightDecay,
        ["clipnorm"] = ClipNorm,
        ["global_clipnorm"] = GlobalClipNorm,
        ["clipvalue"] = ClipValue,
    };

    /// <summary>Keras refuses more than one of clipnorm, global_clipnorm and clipvalue (base_optimizer.py's constructor).</summary>
    protected void CheckOneClipping()
    {
        if ((_clipNorm is null ? 0 : 1) + (_globalClipNorm is null ? 0 : 1) + (_clipValue is null ? 0 : 1) > 1)
            throw new ArgumentException($"Only one of clipnorm, clipvalue and global_clipnorm can be set (got clipnorm={_clipNorm}, clipvalue={_clipValue}, global_clipnorm={_globalClipNorm}).");
    }

    /// <summary>Optimizer state (for checkpoints): one array per slot per weight, in a fixed order; empty before the first step.</summary>
    public abstract IReadOnlyList<float[]> GetState();

    /// <summary>How many variables Keras's optimizer built for these weights holds: iterations and learning_rate, then its slots (as in a .keras file).</summary>
    internal int VariableCount(IReadOnlyList<Variable> weights)
    {
        EnsureState(weights);
        return 2 + GetState().Count;
    }

    /// <summary>Restores what <see cref="GetState"/> gave (and the step count) for these weights, so training continues exactly.</summary>
    public void SetState(IReadOnlyList<Variable> weights, IReadOnlyList<float[]> state, long iterations)
    {
        Iterations = iterations;
        if (state.Count == 0) return;
        EnsureState(weights);
        var slots = GetState();
        if (slots.Count != state.Count || slots.Zip(state).Any(p => p.First.Length != p.Second.Length))
            throw new InvalidDataException($"The saved {Name} state does not fit this model's weights.");
        for (int i = 0; i < slots.Count; i++) state[i].CopyTo(slots[i], 0);
    }

    public static Optimizer FromName(string name) => name.ToLowerInvariant() switch
    {
        "adam" => new Adam(),
        "adamw" => new AdamW(),
        "rmsprop" => new RMSprop(),
        "sgd" => new SGD(),
        _ => throw new ArgumentException($"Unknown optimizer '{name}'; expected 'adam', 'adamw', 'rmsprop' or 'sgd'."),
    };
}
