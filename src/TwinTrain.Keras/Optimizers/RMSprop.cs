namespace TwinTrain.Keras.Optimizers;

/// <summary>
/// RMSprop in Keras 3's form (keras/src/optimizers/rmsprop.py): v = ρ·v + (1 − ρ)·g²; centered, a = ρ·a + (1 − ρ)·g
/// and the denominator v − a² + ε, else v + ε; increment = lr·g / √denominator; with momentum μ, m = μ·m + increment
/// and w −= m, else w −= increment.
/// </summary>
public sealed class RMSprop(double learningRate = 0.001, double rho = 0.9, double momentum = 0, double epsilon = 1e-7, bool centered = false)
    : Optimizer(learningRate)
{
    float[][] _velocity = [], _momentum = [], _average = [];

    public double Rho { get; } = rho is >= 0 and < 1 ? rho : throw new ArgumentOutOfRangeException(nameof(rho), "rho must be in [0, 1).");
    public double Momentum { get; } = momentum >= 0 ? momentum : throw new ArgumentOutOfRangeException(nameof(momentum), "momentum must be 0 or more.");
    public double Epsilon { get; } = epsilon;
    public bool Centered { get; } = centered;
    public override string Name => "rmsprop";

    protected override void EnsureState(IReadOnlyList<Variable> weights)
    {
        if (_velocity.Length == weights.Count) return;
        _velocity = weights.Select(w => new float[w.Size]).ToArray();
        if (Momentum > 0) _momentum = weights.Select(w => new float[w.Size]).ToArray();
        if (Centered) _average = weights.Select(w => new float[w.Size]).ToArray();
    }

    protected override void UpdateStep(int index, int offset, Span<float> value, ReadOnlySpan<float> gradient)
    {
        Span<float> v = _velocity[index].AsSpan(offset, value.Length);
        Span<float> m = Momentum > 0 ? _momentum[index].AsSpan(offset, value.Length) : default;
        Span<float> a = Centered ? _average[index].AsSpan(offset, value.Length) : default;
        float rho = (float)Rho, rest = (float)(1 - Rho), eps = (float)Epsilon, lr = (float)LearningRate, mu = (float)Momentum;
        for (int i = 0; i < value.Length; i++)
        {
            float g = gradient[i];
            v[i] = rho * v[i] + rest * (g * g);
            float denominator;
            if (Centered)
            {
                a[i] = rho * a[i] + rest * g;
                denominator = v[i] - a[i] * a[i] + eps;
            }
            else denominator = v[i] + eps;
            float increment = lr * g / MathF.Sqrt(denominator);
            if (Momentum > 0)
            {
                m[i] = mu * m[i] + increment;
                value[i] -= m[i];
            }
            else value[i] -= increment;
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["rho"] = Rho;
        config["momentum"] = Momentum;
        config["epsilon"] = Epsilon;
        config["centered"] = Centered;
        return config;
    }

    public override IReadOnlyList<float[]> GetState() => [.. _velocity, .. _momentum, .. _average];
}
