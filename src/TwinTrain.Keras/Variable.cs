namespace TwinTrain.Keras;

/// <summary>A trainable weight: a name, a shape and its values. Gradients live with the trainer, one set per worker.</summary>
public sealed class Variable(string name, int[] shape)
{
    public string Name { get; } = name;
    public int[] Shape { get; } = shape;
    public float[] Value { get; } = new float[shape.Aggregate(1, (a, b) => a * b)];
    public int Size => Value.Length;
}
