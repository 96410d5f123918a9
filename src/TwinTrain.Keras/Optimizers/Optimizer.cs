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

    /// <summary>Number of updates applied so far (Keras's optimizer.iterations).</summary>
    public long Iterations { get; protected set; }

    public abstract string Name { get; }

    /// <summary>Applies one update to every weight, given the gradient of each (same order).</summary>
    public void Apply(IReadOnlyList<Variable> weights, IReadOnlyList<float[]> gradients)
    {
        BeginStep(weights);
        for (int i = 0; i < weights.Count; i++) Update(i, 0, weights[i].Value, gradients[i]);
        EndStep();
    }

    /// <summary>
    /// One update in parts, so that threads can share it: <see cref="BeginStep"/>, then <see cref="Update"/> on
    /// disjoint ranges of the weights (each element's update depends on that element alone), then <see cref="EndStep"/>.
    /// </summary>
    public void BeginStep(IReadOnlyList<Variable> weights) => EnsureState(weights);

    /// <summary>Updates elements [offset, offset + value.Length) of weight <paramref name="index"/>.</summary>
    public abstract void Update(int index, int offset, Span<float> value, ReadOnlySpan<float> gradient);

    public void EndStep() => Iterations++;

    /// <summary>Creates the state on first use and computes what is per step (such as Adam's bias correction).</summary>
    protected abstract void EnsureState(IReadOnlyList<Variable> weights);

    public virtual Dictionary<string, object?> GetConfig() => new() { ["name"] = Name, ["learning_rate"] = LearningRate };

    /// <summary>Optimizer state (for checkpoints): one array per slot per weight, in a fixed order; empty before the first step.</summary>
    public abstract IReadOnlyList<float[]> GetState();

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
        "sgd" => new SGD(),
        _ => throw new ArgumentException($"Unknown optimizer '{name}'; expected 'adam' or 'sgd'."),
    };
}
