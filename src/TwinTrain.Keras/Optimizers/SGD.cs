namespace TwinTrain.Keras.Optimizers;

/// <summary>
/// Stochastic gradient descent in Keras's form: without momentum w −= lr·g; with momentum
/// u = momentum·u − lr·g, then w += u (Nesterov: w += momentum·u − lr·g).
/// </summary>
public sealed class SGD(double learningRate = 0.01, double momentum = 0, bool nesterov = false) : Optimizer(learningRate)
{
    float[][] _velocity = [];

    public double Momentum { get; } = momentum is >= 0 and < 1 ? momentum : throw new ArgumentOutOfRangeException(nameof(momentum), "Momentum must be in [0, 1).");
    public bool Nesterov { get; } = nesterov;
    public override string Name => "sgd";

    protected override void EnsureState(IReadOnlyList<Variable> weights)
    {
        if (Momentum > 0 && _velocity.Length != weights.Count) _velocity = weights.Select(w => new float[w.Size]).ToArray();
    }

    protected override void UpdateStep(int index, int offset, Span<float> value, ReadOnlySpan<float> gradient)
    {
        float lr = (float)LearningRate, momentum = (float)Momentum;
        if (Momentum == 0)
        {
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(gradient, -lr, value, value);
            return;
        }
        Span<float> u = _velocity[index].AsSpan(offset, value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            u[i] = momentum * u[i] - lr * gradient[i];
            value[i] += Nesterov ? momentum * u[i] - lr * gradient[i] : u[i];
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["momentum"] = Momentum;
        config["nesterov"] = Nesterov;
        return config;
    }

    public override IReadOnlyList<float[]> GetState() => Momentum > 0 ? _velocity : [];
}
