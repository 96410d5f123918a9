using TwinTrain.Keras.Optimizers;

namespace TwinTrain.Keras.Tests;

/// <summary>A few steps of each optimizer against its formula written out in double precision.</summary>
public class OptimizerTests
{
    static readonly double[][] GradientSteps =
    [
        [0.5, -1.0, 0.0, 2.0, 1e-3, -3.0, 0.25, 0.1, -0.1],
        [0.4, -0.5, 0.1, 1.5, 2e-3, -2.0, 0.30, -0.2, 0.0],
        [-0.3, 0.7, -0.2, 0.5, 0.0, 1.0, 0.20, 0.3, 0.05],
    ];

    static float[] Run(Optimizer optimizer, double[] start)
    {
        var weight = new Variable("w", [start.Length]);
        for (int i = 0; i < start.Length; i++) weight.Value[i] = (float)start[i];
        foreach (var step in GradientSteps) optimizer.Apply([weight], [step.Select(g => (float)g).ToArray()]);
        return weight.Value;
    }

    static readonly double[] Start = [1, -1, 0.5, 0, 2, -0.5, 0.1, 3, -2];

    [Fact]
    public void Should_apply_adam_in_keras_form_with_epsilon_on_the_uncorrected_root()
    {
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7;
        var w = (double[])Start.Clone();
        var m = new double[w.Length];
        var v = new double[w.Length];
        for (int t = 1; t <= GradientSteps.Length; t++)
        {
            double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
            for (int i = 0; i < w.Length; i++)
            {
                double g = GradientSteps[t - 1][i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                w[i] -= alpha * m[i] / (Math.Sqrt(v[i]) + eps);
            }
        }
        var actual = Run(new Adam(lr), Start);
        for (int i = 0; i < w.Length; i++) Assert.True(Math.Abs(w[i] - actual[i]) < 1e-6, $"weight {i}: formula {w[i]}, optimizer {actual[i]}");
    }

    [Fact]
    public void Should_add_epsilon_after_the_bias_correction_as_pytorch_when_aligned()
    {
        // torch/optim/adam.py, _single_tensor_adam: denom = (exp_avg_sq.sqrt() / sqrt(bias_correction2)).add_(eps);
        // param.addcdiv_(exp_avg, denom, value=-lr / bias_correction1). A large eps makes the placement matter.
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-2;
        var w = (double[])Start.Clone();
        var m = new double[w.Length];
        var v = new double[w.Length];
        for (int t = 1; t <= GradientSteps.Length; t++)
        {
            double correction1 = 1 - Math.Pow(b1, t), correction2 = 1 - Math.Pow(b2, t);
            for (int i = 0; i < w.Length; i++)
            {
                double g = GradientSteps[t - 1][i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                w[i] -= lr / correction1 * m[i] / (Math.Sqrt(v[i]) / Math.Sqrt(correction2) + eps);
            }
        }
        var aligned = Run(new Adam(lr, b1, b2, eps) { EpsilonAfterBiasCorrection = true }, Start);
        for (int i = 0; i < w.Length; i++) Assert.Equal(w[i], aligned[i], 5);
        var native = Run(new Adam(lr, b1, b2, eps), Start);
        Assert.True(Enumerable.Range(0, w.Length).Any(i => Math.Abs(native[i] - w[i]) > 1e-3), "Keras's placement is another update");
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.9, false)]
    [InlineData(0.9, true)]
    public void Should_apply_sgd_in_keras_form(double momentum, bool nesterov)
    {
        double lr = 0.1;
        var w = (double[])Start.Clone();
        var u = new double[w.Length];
        foreach (var step in GradientSteps)
        {
            for (int i = 0; i < w.Length; i++)
            {
                u[i] = momentum * u[i] - lr * step[i];
                w[i] += nesterov ? momentum * u[i] - lr * step[i] : u[i];
            }
        }
        var actual = Run(new SGD(lr, momentum, nesterov), Start);
        for (int i = 0; i < w.Length; i++) Assert.True(Math.Abs(w[i] - actual[i]) < 1e-6, $"weight {i}: formula {w[i]}, optimizer {actual[i]}");
    }

    [Fact]
    public void Should_count_iterations_and_reject_bad_settings()
    {
        var adam = new Adam();
        Run(adam, Start);
        Assert.Equal(3, adam.Iterations);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(learningRate: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(momentum: 1.5));
        Assert.Throws<ArgumentException>(() => Optimizer.FromName("adagrad"));
        Assert.IsType<RMSprop>(Optimizer.FromName("rmsprop"));
        Assert.IsType<AdamW>(Optimizer.FromName("AdamW"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam { ClipValue = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD { WeightDecay = -1 });
    }

    // keras/src/optimizers/adam.py, update_step with amsgrad: v_hat = maximum(v_hat, v), then v_hat in the denominator.
    // base_optimizer.py: _clip_gradients (clipvalue: ops.clip(g, -v, v)) and then _apply_weight_decay
    // (w - w * wd * lr) come before update_step.
    [Theory]
    [InlineData(false, null, null)]
    [InlineData(true, null, null)]
    [InlineData(false, 0.05, null)]
    [InlineData(true, 0.05, 0.4)]
    public void Should_apply_adam_with_amsgrad_weight_decay_and_clipvalue_in_keras_order(bool amsgrad, double? weightDecay, double? clipValue)
    {
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7;
        var w = (double[])Start.Clone();
        var m = new double[w.Length];
        var v = new double[w.Length];
        var vHat = new double[w.Length];
        for (int t = 1; t <= GradientSteps.Length; t++)
        {
            double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
            for (int i = 0; i < w.Length; i++)
            {
                double g = GradientSteps[t - 1][i];
                if (clipValue is double c) g = Math.Clamp(g, -c, c);
                if (weightDecay is double wd) w[i] -= w[i] * wd * lr;
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                vHat[i] = Math.Max(vHat[i], v[i]);
                w[i] -= alpha * m[i] / (Math.Sqrt(amsgrad ? vHat[i] : v[i]) + eps);
            }
        }
        var actual = Run(new Adam(lr, amsgrad: amsgrad) { WeightDecay = weightDecay, ClipValue = clipValue }, Start);
        for (int i = 0; i < w.Length; i++) Assert.True(Math.Abs(w[i] - actual[i]) < 1e-6, $"weight {i}: formula {w[i]}, optimizer {actual[i]}");
    }

    // keras/src/optimizers/adamw.py: Adam with weight_decay=0.004 by default.
    [Fact]
    public void Should_apply_adamw_as_adam_with_decoupled_decay_of_0_004()
    {
        Assert.Equal(Run(new Adam(0.01) { WeightDecay = 0.004 }, Start), Run(new AdamW(0.01), Start));
        Assert.NotEqual(Run(new Adam(0.01), Start), Run(new AdamW(0.01), Start));
        Assert.Equal("adamw", new AdamW().Name);
    }

    // keras/src/optimizers/rmsprop.py, update_step: velocity = rho*velocity + (1-rho)*g^2; centered: average =
    // rho*average + (1-rho)*g, denominator velocity - average^2 + epsilon (else velocity + epsilon); increment =
    // lr*g/sqrt(denominator); momentum: m = momentum*m + increment, w -= m (else w -= increment).
    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.9, false)]
    [InlineData(0.0, true)]
    [InlineData(0.5, true)]
    public void Should_apply_rmsprop_in_keras_form(double momentum, bool centered)
    {
        double lr = 0.01, rho = 0.9, eps = 1e-7;
        var w = (double[])Start.Clone();
        var velocity = new double[w.Length];
        var average = new double[w.Length];
        var moment = new double[w.Length];
        foreach (var step in GradientSteps)
        {
            for (int i = 0; i < w.Length; i++)
            {
                double g = step[i];
                velocity[i] = rho * velocity[i] + (1 - rho) * g * g;
                double denominator = velocity[i] + eps;
                if (centered)
                {
                    average[i] = rho * average[i] + (1 - rho) * g;
                    denominator = velocity[i] - average[i] * average[i] + eps;
                }
                double increment = lr * g / Math.Sqrt(denominator);
                if (momentum > 0) { moment[i] = momentum * moment[i] + increment; w[i] -= moment[i]; }
                else w[i] -= increment;
            }
        }
        var actual = Run(new RMSprop(lr, rho, momentum, eps, centered), Start);
        for (int i = 0; i < w.Length; i++) Assert.True(Math.Abs(w[i] - actual[i]) < 1e-5, $"weight {i}: formula {w[i]}, optimizer {actual[i]}");
    }

    [Fact]
    public void Should_train_save_and_resume_with_the_new_optimizers_bitwise()
    {
        using var folder = new TwinTrain.Tests.Shared.TempFolder();
        foreach (var (make, file) in new (Func<Optimizer>, string)[]
        {
            (() => new RMSprop(0.001, momentum: 0.5, centered: true) { ClipValue = 0.5 }, "m.zip"), (() => new AdamW(amsgrad: true), "m.zip"),
            (() => new Adam(0.001) { ClipNorm = 0.1 }, "m.keras"), (() => new SGD(0.01, 0.9) { GlobalClipNorm = 0.5 }, "m.keras"),
        })
        {
            var (x, y) = StudyModel.RandomBatch(16, seed: 3);
            using var straight = StudyModel.Create(seed: 1);
            straight.Compile(make(), metrics: ["accuracy"]);
            straight.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0, shuffle: false);

            using var first = StudyModel.Create(seed: 1);
            first.Compile(make(), metrics: ["accuracy"]);
            first.Fit(x, y, epochs: 1, batchSize: 8, verbose: 0, shuffle: false);
            string path = Path.Combine(folder.Path, file);
            first.Save(path);
            using var resumed = Sequential.Load(path);
            Assert.Equal(first.Optimizer!.GetConfig().Select(c => $"{c.Key}={c.Value}"), resumed.Optimizer!.GetConfig().Select(c => $"{c.Key}={c.Value}"));
            resumed.Fit(x, y, epochs: 2, initialEpoch: 1, batchSize: 8, verbose: 0, shuffle: false);
            Assert.Equal(straight.GetWeights()[0], resumed.GetWeights()[0]);
        }
    }

    // keras/src/optimizers/base_optimizer.py: _clip_by_norm (g·c / max(‖g‖, c), per tensor) and clip_by_global_norm
    // (g·c·min(1/‖G‖, 1/c) over all tensors), in _clip_gradients before update_step.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_clip_gradients_by_their_norm_per_tensor_or_globally(bool global)
    {
        double lr = 0.1, clip = 1.0;
        var w1 = (double[])Start[..4].Clone();
        var w2 = (double[])Start[4..].Clone();
        foreach (var step in GradientSteps)
        {
            double[] g1 = step[..4], g2 = step[4..];
            double n1 = Math.Sqrt(g1.Sum(g => g * g)), n2 = Math.Sqrt(g2.Sum(g => g * g)), n = Math.Sqrt(n1 * n1 + n2 * n2);
            double s1 = global ? clip * Math.Min(1 / n, 1 / clip) : clip / Math.Max(n1, clip);
            double s2 = global ? s1 : clip / Math.Max(n2, clip);
            for (int i = 0; i < 4; i++) w1[i] -= lr * g1[i] * s1;
            for (int i = 0; i < w2.Length; i++) w2[i] -= lr * g2[i] * s2;
        }
        var a = new Variable("a", [4]);
        var b = new Variable("b", [5]);
        for (int i = 0; i < 4; i++) a.Value[i] = (float)Start[i];
        for (int i = 0; i < 5; i++) b.Value[i] = (float)Start[4 + i];
        var sgd = global ? new SGD(lr) { GlobalClipNorm = clip } : new SGD(lr) { ClipNorm = clip };
        foreach (var step in GradientSteps) sgd.Apply([a, b], [step[..4].Select(g => (float)g).ToArray(), step[4..].Select(g => (float)g).ToArray()]);
        for (int i = 0; i < 4; i++) Assert.Equal(w1[i], a.Value[i], 5);
        for (int i = 0; i < 5; i++) Assert.Equal(w2[i], b.Value[i], 5);
        Assert.Contains("Only one of clipnorm, clipvalue and global_clipnorm", Assert.Throws<ArgumentException>(() => new SGD { ClipNorm = 1, ClipValue = 1 }.Apply([a], [new float[4]])).Message);
    }

    /// <summary>The executor updates each worker's slice of a weight: a norm must still be the whole tensor's, whatever the threads.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_clip_by_norm_in_fit_as_the_optimizer_does_on_whole_gradients(bool global)
    {
        var (x, y) = StudyModel.RandomBatch(16, seed: 5);
        // SGD, where the scale shows in the update (Adam's first step hardly depends on it).
        Optimizer Make() => global ? new SGD(0.1) { GlobalClipNorm = 0.05 } : new SGD(0.1) { ClipNorm = 0.01 };
        using var reference = StudyModel.Create(seed: 2);
        reference.Compile(Make(), metrics: ["accuracy"]);
        reference.Threads = 1;
        var (_, gradients) = reference.ComputeGradients(x, y);
        var optimizer = Make();
        optimizer.Apply(reference.TrainableWeights, gradients);

        using var model = StudyModel.Create(seed: 2);
        model.Compile(Make(), metrics: ["accuracy"]);
        model.Threads = 2;
        model.TrainOnBatch(x, y);
        var expected = reference.TrainableWeights.Select(w => w.Value).ToArray();
        var actual = model.TrainableWeights.Select(w => w.Value).ToArray();
        for (int i = 0; i < expected.Length; i++)
            for (int k = 0; k < expected[i].Length; k++) Assert.True(Math.Abs(expected[i][k] - actual[i][k]) < 1e-6, $"weight {i}[{k}]: {expected[i][k]} vs {actual[i][k]}");
        using var unclipped = StudyModel.Create(seed: 2);
        unclipped.Compile(new SGD(0.1), metrics: ["accuracy"]);
        unclipped.TrainOnBatch(x, y);
        Assert.NotEqual(unclipped.TrainableWeights[0].Value, actual[0]);
    }
}
