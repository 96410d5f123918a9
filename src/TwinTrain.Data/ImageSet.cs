namespace TwinTrain.Data;

/// <summary>
/// One split of decoded images: <see cref="Pixels"/> holds <see cref="Count"/> images of 32x32x3 bytes in
/// height-width-channel order (channels last, as decoded from an image file), <see cref="Labels"/> one byte each.
/// </summary>
public sealed class ImageSet
{
    public ImageSet(byte[] pixels, byte[] labels)
    {
        if (pixels.Length != labels.Length * CifarClasses.PixelsPerImage)
            throw new ArgumentException($"{pixels.Length} pixel bytes do not make {labels.Length} images of 32x32x3.");
        Pixels = pixels;
        Labels = labels;
    }

    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public int Count => Labels.Length;

    public ReadOnlySpan<byte> Image(int index) =>
        Pixels.AsSpan(index * CifarClasses.PixelsPerImage, CifarClasses.PixelsPerImage);

    public int[] CountPerClass()
    {
        var counts = new int[CifarClasses.Count];
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
        var pixels = new byte[count * CifarClasses.PixelsPerImage];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int source = (int)((long)i * Count / count);
            Image(source).CopyTo(pixels.AsSpan(i * CifarClasses.PixelsPerImage));
            labels[i] = Labels[source];
        }
        return new ImageSet(pixels, labels);
    }
}

/// <summary>The CIFAR-10 training and test splits.</summary>
public sealed record Cifar10(ImageSet Train, ImageSet Test);
