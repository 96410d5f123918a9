using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Keras.Data;

namespace TwinTrain.Frameworks.Keras;

/// <summary>CIFAR-10 bytes served to the Keras-style framework batch by batch as channels-last floats in [0, 1].</summary>
public sealed class ImageSetDataset(ImageSet set, Preprocessing? preprocessing = null) : IDataset
{
    readonly PixelConverter _converter = new(ImageLayout.Nhwc, preprocessing);

    public ImageSet Set { get; } = set;
    public int Count => Set.Count;

    public void Fill(ReadOnlySpan<int> indices, Span<float> x, Span<int> y)
    {
        _converter.Fill(Set, indices, x);
        for (int i = 0; i < indices.Length; i++) y[i] = Set.Labels[indices[i]];
    }
}
