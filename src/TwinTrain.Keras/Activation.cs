using System.Numerics.Tensors;

namespace TwinTrain.Keras;

/// <summary>The element-wise activations a layer can end with, named as in Keras.</summary>
public enum Activation { Linear, Relu, Softmax }

internal static class Activations
{
    public static Activation Parse(string? name) => name?.ToLowerInvariant() switch
    {
        null or "" or "linear" => Activation.Linear,
        "relu" => Activation.Relu,
        "softmax" => Activation.Softmax,
        _ => throw new ArgumentException($"Unknown activation '{name}'; expected linear, relu or softmax."),
    };

    public static string Name(Activation activation) => activation.ToString().ToLowerInvariant();

    /// <summary>Applies the activation in place to <paramref name="batch"/> rows of <paramref name="width"/> values.</summary>
    public static void Forward(Activation activation, Span<float> values, int width)
    {
        switch (activation)
        {
            case Activation.Relu:
                TensorPrimitives.Max(values, 0f, values);
                break;
            case Activation.Softmax:
                for (int row = 0; row < values.Length / width; row++) Softmax(values.Slice(row * width, width));
                break;
        }
    }

    /// <summary>Turns the gradient with respect to the activation's output into one with respect to its input, in place.</summary>
    public static void Backward(Activation activation, ReadOnlySpan<float> output, Span<float> gradient, int width)
    {
        switch (activation)
        {
            case Activation.Relu:
                ReluBackward(output, gradient);
                break;
            case Activation.Softmax:
                for (int row = 0; row < gradient.Length / width; row++)
                {
                    var y = output.Slice(row * width, width);
                    var g = gradient.Slice(row * width, width);
                    float dot = 0f;
                    for (int i = 0; i < width; i++) dot += y[i] * g[i];
                    for (int i = 0; i < width; i++) g[i] = y[i] * (g[i] - dot);
                }
                break;
        }
    }

    /// <summary>Zeroes the gradient wherever the ReLU output is zero (its input was not positive).</summary>
    static unsafe void ReluBackward(ReadOnlySpan<float> output, Span<float> gradient)
    {
        if (output.Length < gradient.Length) throw new ArgumentException("The output is shorter than the gradient.");
        fixed (float* y = output, g = gradient) Engine.VectorOps.ReluBackward(y, g, gradient.Length);
    }

    public static void Softmax(Span<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (float v in row) max = MathF.Max(max, v);
        float sum = 0f;
        for (int i = 0; i < row.Length; i++)
        {
            row[i] = MathF.Exp(row[i] - max);
            sum += row[i];
        }
        for (int i = 0; i < row.Length; i++) row[i] /= sum;
    }
}
