namespace TwinTrain.Data.Formats;

/// <summary>
/// The official binary releases: records of label bytes then 1024 red, 1024 green, 1024 blue bytes (row-major).
/// CIFAR-10 has one label byte; CIFAR-100 two, the coarse label then the fine one.
/// </summary>
public static class BinaryBatch
{
    /// <summary>One release's record layout: how many label bytes lead each record, which one is the label, how many classes.</summary>
    public readonly record struct Layout(string Release, int LabelBytes, int LabelIndex, int Classes)
    {
        public int RecordSize => LabelBytes + ImageShape.Cifar.Pixels;
    }

    public static Layout Cifar10 { get; } = new("CIFAR-10", 1, 0, 10);

    public static Layout Cifar100(bool coarse) => new("CIFAR-100", 2, coarse ? 0 : 1, coarse ? 20 : 100);

    public static (byte[] Pixels, byte[] Labels) Parse(ReadOnlySpan<byte> bytes, string location) => Parse(bytes, location, Cifar10);

    public static (byte[] Pixels, byte[] Labels) Parse(ReadOnlySpan<byte> bytes, string location, Layout layout)
    {
        if (bytes.Length == 0)
            throw new DataFormatException($"{location}: the file is empty.");
        int recordSize = layout.RecordSize;
        if (bytes.Length % recordSize != 0)
            throw new DataFormatException(
                $"{location}: size {bytes.Length} bytes is not a whole number of {recordSize}-byte records " +
                $"({bytes.Length / recordSize} records and {bytes.Length % recordSize} bytes left over); the file is truncated or not a {layout.Release} binary batch.");

        int count = bytes.Length / recordSize;
        int pixelsPerImage = ImageShape.Cifar.Pixels;
        var labels = new byte[count];
        var pixels = new byte[count * pixelsPerImage];
        for (int i = 0; i < count; i++)
        {
            var record = bytes.Slice(i * recordSize, recordSize);
            for (int b = 0; b < layout.LabelBytes; b++)
            {
                // Every label byte is checked (CIFAR-100's coarse one too, when the fine one is used).
                int classes = layout.LabelBytes == 1 ? layout.Classes : b == 0 ? 20 : 100;
                byte label = LabelCheck.Checked(record[b], location, i, classes);
                if (b == layout.LabelIndex) labels[i] = label;
            }
            PlanarToInterleaved(record[layout.LabelBytes..], pixels.AsSpan(i * pixelsPerImage, pixelsPerImage));
        }
        return (pixels, labels);
    }

    /// <summary>Channel planes (CHW, as in both official releases) to interleaved pixels (HWC).</summary>
    internal static void PlanarToInterleaved(ReadOnlySpan<byte> planar, Span<byte> interleaved)
    {
        const int plane = 32 * 32;
        for (int p = 0; p < plane; p++)
        {
            interleaved[3 * p] = planar[p];
            interleaved[3 * p + 1] = planar[plane + p];
            interleaved[3 * p + 2] = planar[2 * plane + p];
        }
    }
}

internal static class LabelCheck
{
    public static byte Checked(long label, string location, int record, int classes)
    {
        if (label < 0 || label >= classes)
            throw new DataFormatException($"{location}: record {record} has label {label}, outside 0..{classes - 1}.");
        return (byte)label;
    }
}
