namespace TwinTrain.Keras;

/// <summary>A trainable weight: its values and the gradient accumulated for them by the last backward pass.</summary>
public sealed class Variable(string name, int[] shape)
{
    public string Name { get; } = name;
    public int[] Shape { get; } = shape;
    public float[] Value { get; } = new float[shape.Aggregate(1, (a, b) => a * b)];
    public float[] Gradient { get; } = new float[shape.Aggregate(1, (a, b) => a * b)];
    public int Size => Value.Length;
}
