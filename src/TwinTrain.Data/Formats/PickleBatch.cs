namespace TwinTrain.Data.Formats;

/// <summary>
/// The official python releases: each batch is a pickled dict with 'data' (a numpy uint8 array of N x 3072, channel
/// planes per row) and its labels (a list of ints): 'labels' in CIFAR-10, 'fine_labels' and 'coarse_labels' in
/// CIFAR-100, as Keras and torchvision read them.
/// </summary>
public static class PickleBatch
{
    public static (byte[] Pixels, byte[] Labels) Parse(byte[] bytes, string location) => Parse(bytes, location, "labels", 10);

    public static (byte[] Pixels, byte[] Labels) Parse(byte[] bytes, string location, string labelKey, int classes)
    {
        var dict = Load(bytes, location);
        var labels = ReadLabels(Get(dict, location, labelKey), location, classes);
        int pixelsPerImage = ImageShape.Cifar.Pixels;
        var (planar, rows, rowLength) = NumpyArray.ReadUInt8Matrix(Get(dict, location, "data"), location);
        if (rowLength != pixelsPerImage)
            throw new DataFormatException($"{location}: 'data' rows have {rowLength} values; a 32x32x3 image needs {pixelsPerImage}.");
        if (rows != labels.Length)
            throw new DataFormatException($"{location}: 'data' has {rows} images but '{labelKey}' has {labels.Length}.");

        var pixels = new byte[rows * pixelsPerImage];
        for (int i = 0; i < rows; i++)
        {
            BinaryBatch.PlanarToInterleaved(planar.AsSpan(i * pixelsPerImage, pixelsPerImage), pixels.AsSpan(i * pixelsPerImage, pixelsPerImage));
        }
        return (pixels, labels);
    }

    /// <summary>A pickled dict (a batch, or CIFAR-100's 'meta'), or one line saying why the file is not one.</summary>
    public static Dictionary<object, object?> Load(byte[] bytes, string location)
    {
        if (bytes.Length == 0) throw new DataFormatException($"{location}: the file is empty.");
        if (bytes[0] != 0x80 && bytes[0] != (byte)'(' && bytes[0] != (byte)'}')
            throw new DataFormatException($"{location}: not a Python pickle (first byte 0x{bytes[0]:x2}).");
        return Unpickler.Load(bytes, location) as Dictionary<object, object?>
            ?? throw new DataFormatException($"{location}: the pickle does not hold a dict.");
    }

    /// <summary>A list of strings in the dict (CIFAR-100's label names), or one line naming what is wrong.</summary>
    public static IReadOnlyList<string> Strings(Dictionary<object, object?> dict, string location, string key) =>
        Get(dict, location, key) is List<object?> list && list.All(v => v is string)
            ? [.. list.Cast<string>()]
            : throw new DataFormatException($"{location}: '{key}' is not a list of names.");

    static object? Get(Dictionary<object, object?> dict, string location, string key) =>
        dict.TryGetValue(key, out var value) ? value : throw new DataFormatException($"{location}: the batch has no '{key}' entry.");

    static byte[] ReadLabels(object? value, string location, int classes)
    {
        if (value is List<object?> list)
        {
            var labels = new byte[list.Count];
            for (int i = 0; i < list.Count; i++)
            {
                long label = list[i] is long l ? l : throw new DataFormatException($"{location}: label {i} is not an integer.");
                labels[i] = LabelCheck.Checked(label, location, i, classes);
            }
            return labels;
        }
        var (values, _, _) = NumpyArray.ReadIntegers(value, location, "labels");
        var result = new byte[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = LabelCheck.Checked(values[i], location, i, classes);
        return result;
    }
}
