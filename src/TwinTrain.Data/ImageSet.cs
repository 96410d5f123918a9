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

    /// <summary>The first <paramref name="count"/> images (or all, if fewer), sharing no memory with this set.</summary>
    public ImageSet Take(int count)
    {
        count = Math.Min(count, Count);
        return new ImageSet(Pixels.AsSpan(0, count * CifarClasses.PixelsPerImage).ToArray(), Labels.AsSpan(0, count).ToArray());
    }
}

/// <summary>The CIFAR-10 training and test splits.</summary>
public sealed record Cifar10(ImageSet Train, ImageSet Test);
