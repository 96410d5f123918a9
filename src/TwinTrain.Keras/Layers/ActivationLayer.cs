using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>
/// An activation as a layer of its own (Keras's Activation). A ReLU right after a layer that can compute it (a linear
/// Conv2D or Dense, a BatchNormalization) is fused into that layer by the executor; a final softmax is fused into the
/// loss. Otherwise it is applied here.
/// </summary>
[KerasClass("Activation")]
public class ActivationLayer(string activation, string? name = null) : Layer(name)
{
    public Activation Function { get; } = Activations.Parse(activation);

    public static Layer FromConfig(LayerConfig c) => new ActivationLayer(c.Activation("activation", "linear", "relu", "softmax"), c.Name);

    internal override bool EndsInRelu => Function == Activation.Relu;

    protected override int[] ComputeOutputShape(int[] inputShape) => inputShape;

    int Width => InputShape[^1];

    internal override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        var values = output[..(batch * InputSize)];
        input[..values.Length].CopyTo(values);
        if (!DeferActivation) Activations.Forward(Function, values, Width);
    }

    internal override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (inputGradient.IsEmpty) return;
        var gradient = outputGradient[..(batch * InputSize)];
        if (!preActivation) Activations.Backward(Function, output, gradient, Width);
        gradient.CopyTo(inputGradient);
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["activation"] = Activations.Name(Function);
        return config;
    }
}

/// <summary>Keras's ReLU layer with its default arguments (no maximum, no negative slope, threshold 0).</summary>
public sealed class ReLU(string? name = null) : ActivationLayer("relu", name)
{
    public static new Layer FromConfig(LayerConfig c)
    {
        c.Only("max_value", null, "only no maximum");
        c.Only("negative_slope", 0, "only 0");
        c.Only("threshold", 0, "only 0");
        return new ReLU(c.Name);
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config.Remove("activation");
        config["max_value"] = null;
        config["negative_slope"] = 0.0;
        config["threshold"] = 0.0;
        return config;
    }
}
