using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>Flattens each sample to one dimension. Channels-last data is already contiguous, so this is a copy.</summary>
public sealed class Flatten(string? name = null) : Layer(name)
{
    public static Layer FromConfig(LayerConfig c)
    {
        c.Only("data_format", "channels_last", "only channels_last");
        return new Flatten(c.Name);
    }

    protected override int[] ComputeOutputShape(int[] inputShape) => [InputSize];

    internal override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch) =>
        input[..(batch * InputSize)].CopyTo(output);

    internal override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (!inputGradient.IsEmpty) outputGradient[..(batch * InputSize)].CopyTo(inputGradient);
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["data_format"] = "channels_last";
        return config;
    }
}
