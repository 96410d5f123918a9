using System.Runtime.Intrinsics;

namespace TwinTrain.Keras.Optimizers;

/// <summary>
/// Adam in Keras's form: m += (g − m)(1 − β1); v += (g² − v)(1 − β2);
/// w −= α·m / (√v + ε) with α = lr·√(1 − β2ᵗ)/(1 − β1ᵗ). Epsilon is added to the uncorrected √v, so Keras's
/// default ε = 1e-7 is not PyTorch's 1e-8 added to the corrected one. With amsgrad the denominator uses the largest
/// v so far (v̂ = max(v̂, v)), as keras/src/optimizers/adam.py. <see cref="EpsilonAfterBiasCorrection"/> moves ε to
/// where PyTorch adds it (√v̂ + ε, v̂ = v/(1 − β2ᵗ)): the same update as w −= α·m / (√v + ε·√(1 − β2ᵗ)).
/// </summary>
public class Adam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7, bool amsgrad = false)
    : Optimizer(learningRate)
{
    float[][] _m = [], _v = [], _vHat = [];
    float _alpha, _epsilon;

    public bool Amsgrad { get; } = amsgrad;

    public double Beta1 { get; } = beta1;
    public double Beta2 { get; } = beta2;
    public double Epsilon { get; } = epsilon;

    /// <summary>Add ε to the bias-corrected √v̂ as PyTorch's Adam does, instead of to √v as Keras's (not a Keras option: for aligning the two).</summary>
    public bool EpsilonAfterBiasCorrection { get; init; }
    public override string Name => "adam";

    protected override void EnsureState(IReadOnlyList<Variable> weights)
    {
        if (_m.Length != weights.Count)
        {
            _m = weights.Select(w => new float[w.Size]).ToArray();
            _v = weights.Select(w => new float[w.Size]).ToArray();
            if (Amsgrad) _vHat = weights.Select(w => new float[w.Size]).ToArray();
        }
        long t = Iterations + 1;
        _alpha = (float)(LearningRate * Math.Sqrt(1 - Math.Pow(Beta2, t)) / (1 - Math.Pow(Beta1, t)));
        _epsilon = (float)(EpsilonAfterBiasCorrection ? Epsilon * Math.Sqrt(1 - Math.Pow(Beta2, t)) : Epsilon);
    }

    protected override void UpdateStep(int index, int offset, Span<float> value, ReadOnlySpan<float> gradient)
    {
        Span<float> m = _m[index].AsSpan(offset, value.Length), v = _v[index].AsSpan(offset, value.Length);
        float b1 = (float)(1 - Beta1), b2 = (float)(1 - Beta2), eps = _epsilon, alpha = _alpha;
        if (Amsgrad)
        {
            Span<float> vHat = _vHat[index].AsSpan(offset, value.Length);
            for (int k = 0; k < value.Length; k++)
            {
                float g = gradient[k];
                m[k] += (g - m[k]) * b1;
                v[k] += (g * g - v[k]) * b2;
                vHat[k] = MathF.Max(vHat[k], v[k]);
                value[k] -= m[k] * alpha / (MathF.Sqrt(vHat[k]) + eps);
            }
            return;
        }
        int i = 0;
        if (Vector256.IsHardwareAccelerated && Engine.Gemm.UseSimd)
        {
            var vb1 = Vector256.Create(b1);
            var vb2 = Vector256.Create(b2);
            var veps = Vector256.Create(eps);
            var valpha = Vector256.Create(alpha);
            for (; i + 8 <= value.Length; i += 8)
            {
                var g = Vector256.Create(gradient.Slice(i, 8));
                var mi = Vector256.Create((ReadOnlySpan<float>)m.Slice(i, 8));
                var vi = Vector256.Create((ReadOnlySpan<float>)v.Slice(i, 8));
                mi += (g - mi) * vb1;
                vi += (g * g - vi) * vb2;
                mi.CopyTo(m.Slice(i, 8));
                vi.CopyTo(v.Slice(i, 8));
                (Vector256.Create((ReadOnlySpan<float>)value.Slice(i, 8)) - mi * valpha / (Vector256.Sqrt(vi) + veps)).CopyTo(value.Slice(i, 8));
            }
        }
        for (; i < value.Length; i++)
        {
            float g = gradient[i];
            m[i] += (g - m[i]) * b1;
            v[i] += (g * g - v[i]) * b2;
            value[i] -= m[i] * alpha / (MathF.Sqrt(v[i]) + eps);
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["beta_1"] = Beta1;
        config["beta_2"] = Beta2;
        config["epsilon"] = Epsilon;
        config["amsgrad"] = Amsgrad;
        if (EpsilonAfterBiasCorrection) config["epsilon_after_bias_correction"] = true; // TwinTrain's own key, only when set
        return config;
    }

    public override IReadOnlyList<float[]> GetState() => [.. _m, .. _v, .. _vHat];
}
