using System.Runtime.Intrinsics;
using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>
/// Keras's BatchNormalization over the last axis. Training: each channel is normalised with the mean and biased
/// variance of the whole batch, y = gamma (x - mean) / sqrt(var + epsilon) + beta, and the moving statistics follow
/// moving = moving * momentum + batch * (1 - momentum) (the biased variance, as Keras). Inference: the moving
/// statistics. The executor splits a batch across workers, so the batch's sums are reduced across them inside the
/// forward and the backward pass (<see cref="IBatchReduction"/>), combined in worker order in double precision.
/// </summary>
public sealed class BatchNormalization : Layer, IBatchReduction
{
    Variable[] _weights = [];
    /// <summary>Per channel: the batch's mean and 1/sqrt(var + eps) (training), the affine map applied, and the backward means.</summary>
    float[] _mean = [], _inverseStd = [], _scale = [], _shift = [], _meanGradient = [], _meanGradientXhat = [];
    float[] _ones = [], _zeros = [];

    public BatchNormalization(double momentum = 0.99, double epsilon = 1e-3, bool center = true, bool scale = true, string? name = null) : base(name)
    {
        if (momentum is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(momentum), "momentum must be in [0, 1].");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), "epsilon must be positive.");
        Momentum = momentum;
        Epsilon = epsilon;
        Center = center;
        Scale = scale;
    }

    public static Layer FromConfig(LayerConfig c)
    {
        var axis = c.Int("axis", -1, minimum: int.MinValue);
        double momentum = c.Double("momentum", 0.99, minimum: 0, below: 1.0000001);
        double epsilon = c.Double("epsilon", 1e-3, minimum: double.Epsilon);
        bool center = c.Bool("center", true), scale = c.Bool("scale", true);
        c.Initializer("beta_initializer", "Zeros");
        c.Initializer("gamma_initializer", "Ones");
        c.Initializer("moving_mean_initializer", "Zeros");
        c.Initializer("moving_variance_initializer", "Ones");
        foreach (string key in new[] { "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint", "renorm_clipping" })
            c.Absent(key, "regularizers, constraints and renormalisation are not implemented");
        c.Only("renorm", false, "only false");
        c.Only("synchronized", false, "only false");
        c.Double("renorm_momentum", 0.99);
        var layer = new BatchNormalization(momentum, epsilon, center, scale, c.Name) { ConfiguredAxis = axis };
        return layer;
    }

    /// <summary>The axis the config named: -1 or the last axis' index (checked at Build).</summary>
    int ConfiguredAxis { get; init; } = -1;

    public double Momentum { get; }
    public double Epsilon { get; }
    public bool Center { get; }
    public bool Scale { get; }
    public Variable? Gamma { get; private set; }
    public Variable? Beta { get; private set; }
    public Variable MovingMean { get; private set; } = null!;
    public Variable MovingVariance { get; private set; } = null!;
    public override IReadOnlyList<Variable> Weights => _weights;
    public int Channels => InputShape[^1];
    internal override bool CanFuseRelu => true;

    protected override int[] ComputeOutputShape(int[] inputShape)
    {
        if (ConfiguredAxis != -1 && ConfiguredAxis != inputShape.Length)
            throw ShapeError(inputShape, $"only the last axis (-1 or {inputShape.Length}) is supported, not axis {ConfiguredAxis}.");
        return inputShape;
    }

    protected override void CreateWeights(Random random)
    {
        int c = Channels;
        Gamma = Scale ? new Variable("gamma", [c]) : null;
        Beta = Center ? new Variable("beta", [c]) : null;
        MovingMean = new Variable("moving_mean", [c], trainable: false);
        MovingVariance = new Variable("moving_variance", [c], trainable: false);
        Gamma?.Value.AsSpan().Fill(1f);
        MovingVariance.Value.AsSpan().Fill(1f);
        _weights = [.. new[] { Gamma, Beta }.OfType<Variable>(), MovingMean, MovingVariance];
        _mean = new float[c];
        _inverseStd = new float[c];
        _scale = new float[c];
        _shift = new float[c];
        _meanGradient = new float[c];
        _meanGradientXhat = new float[c];
        _ones = Enumerable.Repeat(1f, c).ToArray();
        _zeros = new float[c];
    }

    float[] GammaValues => Gamma?.Value ?? _ones;
    float[] BetaValues => Beta?.Value ?? _zeros;

    /// <summary>Sum and sum of squares per channel (forward); sum of dy and of dy * xhat per channel (backward).</summary>
    public int ReductionSize => 2 * Channels;

    public unsafe void AddForwardSums(ReadOnlySpan<float> input, int batch, Span<double> sums)
    {
        int c = Channels, rows = batch * (InputSize / c);
        fixed (float* x = input)
        fixed (double* sum = sums)
            SumRows(x, null, null, rows, c, sum, sum + c);
    }

    /// <summary>The batch's statistics from every worker's sums, and the moving statistics' update (in float, as Keras).</summary>
    public void CombineForward(ReadOnlySpan<double> sums, long samples)
    {
        int c = Channels;
        long count = samples * (InputSize / c);
        float momentum = (float)Momentum, rest = (float)(1 - Momentum);
        float[] gamma = GammaValues, beta = BetaValues, movingMean = MovingMean.Value, movingVariance = MovingVariance.Value;
        for (int i = 0; i < c; i++)
        {
            double mean = sums[i] / count;
            double variance = Math.Max(sums[c + i] / count - mean * mean, 0);
            _mean[i] = (float)mean;
            _inverseStd[i] = (float)(1 / Math.Sqrt(variance + Epsilon));
            _scale[i] = gamma[i] * _inverseStd[i];
            _shift[i] = beta[i] - _mean[i] * _scale[i];
            movingMean[i] = movingMean[i] * momentum + (float)mean * rest;
            movingVariance[i] = movingVariance[i] * momentum + (float)variance * rest;
        }
    }

    internal override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        if (!context.Training)
        {
            // Inference: the moving statistics (computed per call: they change only in training).
            float[] gamma = GammaValues, beta = BetaValues;
            for (int i = 0; i < Channels; i++)
            {
                _scale[i] = gamma[i] / MathF.Sqrt(MovingVariance.Value[i] + (float)Epsilon);
                _shift[i] = beta[i] - MovingMean.Value[i] * _scale[i];
            }
        }
        Affine(input, output, batch * InputSize, FuseRelu);
    }

    /// <summary>y = x * scale + shift per channel (then max(y, 0) with a fused ReLU), eight channels at a time.</summary>
    unsafe void Affine(ReadOnlySpan<float> input, Span<float> output, int count, bool relu)
    {
        int c = Channels, rows = count / c, vectorEnd = Gemm.UseSimd ? c / 8 * 8 : 0;
        fixed (float* x = input, y = output, scale = _scale, shift = _shift)
        {
            for (int r = 0; r < rows; r++)
            {
                float* xr = x + (long)r * c, yr = y + (long)r * c;
                int i = 0;
                for (; i < vectorEnd; i += 8)
                {
                    var v = Vector256.FusedMultiplyAdd(Vector256.Load(xr + i), Vector256.Load(scale + i), Vector256.Load(shift + i));
                    if (relu) v = Vector256.Max(v, Vector256<float>.Zero);
                    v.Store(yr + i);
                }
                for (; i < c; i++)
                {
                    float v = MathF.FusedMultiplyAdd(xr[i], scale[i], shift[i]);
                    yr[i] = relu ? MathF.Max(v, 0f) : v;
                }
            }
        }
    }

    public unsafe void AddBackwardSums(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient, int batch,
        float[][] weightGradients, Span<double> sums, bool preActivation)
    {
        int c = Channels, count = batch * InputSize, rows = count / c;
        if (FuseRelu && !preActivation) VectorOpsReluBackward(output, outputGradient[..count]);
        fixed (float* x = input, dy = outputGradient, mean = _mean)
        fixed (double* sum = sums)
            SumRows(dy, x, mean, rows, c, sum, sum + c);
        // This worker's share of dgamma = sum(dy * xhat) and dbeta = sum(dy); the executor adds the workers' shares.
        int next = 0;
        if (Gamma is not null)
        {
            var dgamma = weightGradients[next++];
            for (int i = 0; i < c; i++) dgamma[i] += (float)(sums[c + i] * _inverseStd[i]);
        }
        if (Beta is not null)
        {
            var dbeta = weightGradients[next];
            for (int i = 0; i < c; i++) dbeta[i] += (float)sums[i];
        }
    }

    static unsafe void VectorOpsReluBackward(ReadOnlySpan<float> output, Span<float> gradient)
    {
        fixed (float* y = output, g = gradient) VectorOps.ReluBackward(y, g, gradient.Length);
    }

    /// <summary>mean(dy) and mean(dy * xhat) over the whole batch, for the input gradient.</summary>
    public void CombineBackward(ReadOnlySpan<double> sums, long samples)
    {
        int c = Channels;
        long count = samples * (InputSize / c);
        for (int i = 0; i < c; i++)
        {
            _meanGradient[i] = (float)(sums[i] / count);
            _meanGradientXhat[i] = (float)(sums[c + i] * _inverseStd[i] / count);
        }
    }

    /// <summary>dx = gamma / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat)), with the batch-wide means.</summary>
    internal override unsafe void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (inputGradient.IsEmpty) return;
        int c = Channels, rows = batch * InputSize / c, vectorEnd = Gemm.UseSimd ? c / 8 * 8 : 0;
        float[] gamma = GammaValues;
        fixed (float* x = input, dy = outputGradient, dx = inputGradient, mean = _mean, inverseStd = _inverseStd, g = gamma,
            meanDy = _meanGradient, meanDyXhat = _meanGradientXhat)
        {
            for (int r = 0; r < rows; r++)
            {
                long at = (long)r * c;
                int i = 0;
                for (; i < vectorEnd; i += 8)
                {
                    var s = Vector256.Load(inverseStd + i);
                    var xhat = (Vector256.Load(x + at + i) - Vector256.Load(mean + i)) * s;
                    var v = Vector256.Load(dy + at + i) - Vector256.Load(meanDy + i) - xhat * Vector256.Load(meanDyXhat + i);
                    (v * (Vector256.Load(g + i) * s)).Store(dx + at + i);
                }
                for (; i < c; i++)
                {
                    float xhat = (x[at + i] - mean[i]) * inverseStd[i];
                    dx[at + i] = (dy[at + i] - meanDy[i] - xhat * meanDyXhat[i]) * g[i] * inverseStd[i];
                }
            }
        }
    }

    /// <summary>
    /// Per channel over <paramref name="rows"/> rows of <paramref name="c"/>: with no <paramref name="x"/>, the sum of a
    /// and of a²; with x, the sum of a and of a·(x − mean) (the caller scales by 1/std). In double, four channels at a time.
    /// </summary>
    static unsafe void SumRows(float* a, float* x, float* mean, int rows, int c, double* first, double* second)
    {
        int vectorEnd = Gemm.UseSimd ? c / 8 * 8 : 0;
        for (int r = 0; r < rows; r++)
        {
            float* ar = a + (long)r * c, xr = x + (long)r * c;
            int i = 0;
            for (; i < vectorEnd; i += 8)
            {
                var va = Vector256.Load(ar + i);
                var other = x == null ? va : Vector256.Load(xr + i) - Vector256.Load(mean + i);
                var (aLow, aHigh) = Vector256.Widen(va);
                var (oLow, oHigh) = Vector256.Widen(other);
                (Vector256.Load(first + i) + aLow).Store(first + i);
                (Vector256.Load(first + i + 4) + aHigh).Store(first + i + 4);
                (Vector256.Load(second + i) + aLow * oLow).Store(second + i);
                (Vector256.Load(second + i + 4) + aHigh * oHigh).Store(second + i + 4);
            }
            for (; i < c; i++)
            {
                double value = ar[i], o = x == null ? value : xr[i] - mean[i];
                first[i] += value;
                second[i] += value * o;
            }
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["axis"] = -1;
        config["momentum"] = Momentum;
        config["epsilon"] = Epsilon;
        config["center"] = Center;
        config["scale"] = Scale;
        config["beta_initializer"] = KerasObjects.Initializer("Zeros");
        config["gamma_initializer"] = KerasObjects.Initializer("Ones");
        config["moving_mean_initializer"] = KerasObjects.Initializer("Zeros");
        config["moving_variance_initializer"] = KerasObjects.Initializer("Ones");
        foreach (string key in new[] { "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint" }) config[key] = null;
        config["synchronized"] = false;
        // In get_config since Keras 3.14.0 (keras/src/layers/normalization/batch_normalization.py), at their defaults.
        config["renorm"] = false;
        config["renorm_clipping"] = null;
        config["renorm_momentum"] = 0.99;
        return config;
    }
}

/// <summary>
/// A layer whose training-mode forward and backward passes need sums over the whole batch (BatchNormalization). The
/// executor calls, in training: each worker's <see cref="AddForwardSums"/> over its samples, then once
/// <see cref="CombineForward"/> with the sums added in worker order, then each worker's Call; and backward likewise
/// <see cref="AddBackwardSums"/>, <see cref="CombineBackward"/>, Backward.
/// </summary>
internal interface IBatchReduction
{
    int ReductionSize { get; }
    void AddForwardSums(ReadOnlySpan<float> input, int batch, Span<double> sums);
    /// <summary>The batch's statistics from the sums of all its <paramref name="samples"/>.</summary>
    void CombineForward(ReadOnlySpan<double> sums, long samples);
    void AddBackwardSums(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient, int batch,
        float[][] weightGradients, Span<double> sums, bool preActivation);
    void CombineBackward(ReadOnlySpan<double> sums, long samples);
}
