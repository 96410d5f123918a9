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
        Assert.Throws<ArgumentException>(() => Optimizer.FromName("rmsprop"));
    }
}
