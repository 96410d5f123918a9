namespace TwinTrain.Data;

/// <summary>
/// One split of decoded images: <see cref="Pixels"/> holds <see cref="Count"/> images of <see cref="Shape"/> bytes in
/// height-width-channel order (channels last, as decoded from an image file), <see cref="Labels"/> one byte each.
/// </summary>
public sealed class ImageSet
{
    public ImageSet(byte[] pixels, byte[] labels, ImageShape shape)
    {
        if (pixels.Length != (long)labels.Length * shape.Pixels)
            throw new ArgumentException($"{pixels.Length} pixel bytes do not make {labels.Length} images of {shape}.");
        Pixels = pixels;
        Labels = labels;
        Shape = shape;
    }

    /// <summary>CIFAR-sized images (32x32x3): the shape of most tests' sets.</summary>
    public ImageSet(byte[] pixels, byte[] labels) : this(pixels, labels, ImageShape.Cifar) { }

    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public ImageShape Shape { get; }
    public int Count => Labels.Length;

    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(index * Shape.Pixels, Shape.Pixels);

    public int[] CountPerClass(int classes)
    {
        var counts = new int[classes];
        foreach (byte label in Labels) counts[label]++;
        return counts;
    }

    /// <summary>
    /// <paramref name="count"/> samples spread evenly over the set (index i * Count / count), or all of it.
    /// Spread, not the first N: image-folder data is stored class by class, so the first N would hold few classes.
    /// </summary>
    public ImageSet Subset(int count)
    {
        if (count >= Count) return this;
        var pixels = new byte[count * Shape.Pixels];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int source = (int)((long)i * Count / count);
            Image(source).CopyTo(pixels.AsSpan(i * Shape.Pixels));
            labels[i] = Labels[source];
        }
        return new ImageSet(pixels, labels, Shape);
    }
}

/// <summary>A data set's training and test splits, with what it is.</summary>
public sealed record Dataset(DatasetInfo Info, ImageSet Train, ImageSet Test)
{
    /// <summary>The same data set with each split cut to at most the given number of images (spread evenly).</summary>
    public Dataset Limit(int? train, int? test) => this with { Train = Train.Subset(train ?? int.MaxValue), Test = Test.Subset(test ?? int.MaxValue) };
}
