namespace TwinTrain.Experiment.Frameworks;

/// <summary>
/// A framework's network run one Keras layer at a time in training mode, for `twintrain diff`. Every tensor crosses in
/// the Keras model's layout (activations NHWC or flat in Keras's order, weights as Keras holds them) and as doubles, so
/// that a float64 reference and float32 frameworks compare element by element; a float32 framework rounds what it
/// is given to float32, as its own input would be.
/// </summary>
public interface ILayerProbe : IDisposable
{
    /// <summary>The layer's output for <paramref name="input"/> (a batch of the probe's size), in training mode (batch statistics).</summary>
    double[] Forward(int layer, double[] input);

    /// <summary>
    /// After <see cref="Forward"/> of the same layer: from d(loss)/d(its output) (for the last layer, d(loss)/d(logits)),
    /// d(loss)/d(its input) and the gradient of each of its trainable weights, in Keras's order and layout.
    /// </summary>
    LayerGradients Backward(int layer, double[] outputGradient);

    /// <summary>The batch's mean cross-entropy of the last layer's logits and its gradient with respect to them, as this framework computes it.</summary>
    (double Loss, double[] Gradient) Loss(double[] logits, int[] labels);

    /// <summary>One step of plain SGD (w ← w − lr·g, in the framework's own precision) with the gradients of the last backward pass of every layer.</summary>
    void Step(double learningRate);

    /// <summary>Every weight of the network (trainable and not: BatchNormalization's moving statistics too), in the Keras model's order and layout.</summary>
    double[][] Weights();
}

/// <summary>One layer's gradients: with respect to its input, and to each of its trainable weights.</summary>
public sealed record LayerGradients(double[] Input, double[][] Weights);

/// <summary>The precision a probe computes in: the frameworks' float32, or float64 for the reference.</summary>
public enum ProbePrecision { Float32, Float64 }
