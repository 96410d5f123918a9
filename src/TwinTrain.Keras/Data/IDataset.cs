namespace TwinTrain.Keras.Data;

/// <summary>
/// Samples a model can be fitted on or evaluated with, filled batch by batch into the model's own buffers (the role
/// of Keras's PyDataset / tf.data). Inputs are float32, channels-last; labels are class indices.
/// </summary>
public interface IDataset
{
    int Count { get; }

    /// <summary>Writes the samples at <paramref name="indices"/> into <paramref name="x"/> (one after another) and their labels.</summary>
    void Fill(ReadOnlySpan<int> indices, Span<float> x, Span<int> y);
}

/// <summary>In-memory arrays, as a Keras user passes numpy arrays: x holds Count samples of sampleSize floats.</summary>
public sealed class ArrayDataset : IDataset
{
    readonly float[] _x;
    readonly int[] _y;
    readonly int _sampleSize;

    public ArrayDataset(float[] x, int[] y, int sampleSize)
    {
        if (x.Length != (long)y.Length * sampleSize)
            throw new ArgumentException($"x holds {x.Length} values, which is not {y.Length} samples (the labels) of {sampleSize}.");
        _x = x;
        _y = y;
        _sampleSize = sampleSize;
    }

    public int Count => _y.Length;

    public void Fill(ReadOnlySpan<int> indices, Span<float> x, Span<int> y)
    {
        for (int i = 0; i < indices.Length; i++)
        {
            _x.AsSpan(indices[i] * _sampleSize, _sampleSize).CopyTo(x.Slice(i * _sampleSize, _sampleSize));
            y[i] = _y[indices[i]];
        }
    }
}
