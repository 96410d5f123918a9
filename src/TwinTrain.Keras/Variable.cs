namespace TwinTrain.Keras;

/// <summary>
/// A weight: a name, a shape and its values. Trainable ones get gradients (which live with the trainer, one set per
/// worker); non-trainable ones, such as BatchNormalization's moving statistics, are updated by their layer.
/// </summary>
public sealed class Variable(string name, int[] shape, bool trainable = true)
{
    public string Name { get; } = name;
    public int[] Shape { get; } = shape;
    public bool Trainable { get; } = trainable;
    public float[] Value { get; } = new float[Elements(name, shape)];
    public int Size => Value.Length;

    static int Elements(string name, int[] shape)
    {
        long size = shape.Aggregate(1L, (a, b) => a * b);
        return size <= Layers.Layer.MaxElements
            ? (int)size
            : throw new InvalidOperationException($"its {name} of shape ({string.Join(", ", shape)}) would hold {size:N0} values (more than {Layers.Layer.MaxElements:N0}).");
    }
}
