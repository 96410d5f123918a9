namespace TwinTrain.Data.Formats;

/// <summary>
/// The official binary release: records of 1 label byte then 1024 red, 1024 green, 1024 blue bytes (row-major).
/// </summary>
public static class BinaryBatch
{
    public const int RecordSize = 1 + CifarClasses.PixelsPerImage;

    public static (byte[] Pixels, byte[] Labels) Parse(ReadOnlySpan<byte> bytes, string location)
    {
        if (bytes.Length == 0)
            throw new DataFormatException($"{location}: the file is empty.");
        if (bytes.Length % RecordSize != 0)
            throw new DataFormatException(
                $"{location}: size {bytes.Length} bytes is not a whole number of {RecordSize}-byte records " +
                $"({bytes.Length / RecordSize} records and {bytes.Length % RecordSize} bytes left over); the file is truncated or not a CIFAR-10 binary batch.");

        int count = bytes.Length / RecordSize;
        var labels = new byte[count];
        var pixels = new byte[count * CifarClasses.PixelsPerImage];
        for (int i = 0; i < count; i++)
        {
            var record = bytes.Slice(i * RecordSize, RecordSize);
            labels[i] = LabelCheck.Checked(record[0], location, i);
            PlanarToInterleaved(record[1..], pixels.AsSpan(i * CifarClasses.PixelsPerImage, CifarClasses.PixelsPerImage));
        }
        return (pixels, labels);
    }

    /// <summary>Channel planes (CHW, as in both official releases) to interleaved pixels (HWC).</summary>
    internal static void PlanarToInterleaved(ReadOnlySpan<byte> planar, Span<byte> interleaved)
    {
        const int plane = CifarClasses.Height * CifarClasses.Width;
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
    public static byte Checked(long label, string location, int record)
    {
        if (label < 0 || label >= CifarClasses.Count)
            throw new DataFormatException($"{location}: record {record} has label {label}, outside 0..{CifarClasses.Count - 1}.");
        return (byte)label;
    }
}
