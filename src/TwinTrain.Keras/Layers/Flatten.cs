namespace TwinTrain.Keras.Layers;

/// <summary>Flattens each sample to one dimension. Channels-last data is already contiguous, so this is a copy.</summary>
public sealed class Flatten(string? name = null) : Layer(name)
{
    protected override int[] ComputeOutputShape(int[] inputShape) => [inputShape.Aggregate(1, (a, b) => a * b)];

    public override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch) =>
        input[..(batch * InputSize)].CopyTo(output);

    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (!inputGradient.IsEmpty) outputGradient[..(batch * InputSize)].CopyTo(inputGradient);
    }
}
