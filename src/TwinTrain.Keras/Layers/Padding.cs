namespace TwinTrain.Keras.Layers;

/// <summary>
/// Keras's "valid" and "same" padding along one spatial axis: the one place its arithmetic is written (the layers,
/// the PyTorch translation and the ONNX export all ask here).
/// </summary>
public static class Padding
{
    public static bool IsSame(string padding) => padding.ToLowerInvariant() switch
    {
        "valid" => false,
        "same" => true,
        _ => throw new ArgumentException($"Unknown padding '{padding}'; expected 'valid' or 'same'."),
    };

    /// <summary>Output length and padding before the first element, as TensorFlow computes them.</summary>
    public static (int Output, int Before) Along(int input, int kernel, int stride, bool same)
    {
        var (output, before, _) = Sides(input, kernel, stride, same);
        return (output, before);
    }

    /// <summary>Output length and the padding before and after: 'same' puts the odd element after, as TensorFlow does.</summary>
    public static (int Output, int Before, int After) Sides(int input, int kernel, int stride, bool same)
    {
        if (!same) return ((input - kernel) / stride + 1, 0, 0);
        int output = (input + stride - 1) / stride;
        int total = Math.Max((output - 1) * stride + kernel - input, 0);
        return (output, total / 2, total - total / 2);
    }
}
