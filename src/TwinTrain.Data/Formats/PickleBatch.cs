namespace TwinTrain.Data.Formats;

/// <summary>
/// The official python release: each batch is a pickled dict with 'data' (a numpy uint8 array of N x 3072,
/// channel planes per row) and 'labels' (a list of ints), as Keras and torchvision download it.
/// </summary>
public static class PickleBatch
{
    public static (byte[] Pixels, byte[] Labels) Parse(byte[] bytes, string location)
    {
        if (bytes.Length == 0) throw new DataFormatException($"{location}: the file is empty.");
        if (bytes[0] != 0x80 && bytes[0] != (byte)'(' && bytes[0] != (byte)'}')
            throw new DataFormatException($"{location}: not a Python pickle (first byte 0x{bytes[0]:x2}).");

        if (Unpickler.Load(bytes, location) is not Dictionary<object, object?> dict)
            throw new DataFormatException($"{location}: the pickle does not hold a dict.");

        var labels = ReadLabels(Get(dict, location, "labels", "fine_labels"), location);
        var (planar, rows, rowLength) = NumpyArray.ReadUInt8Matrix(Get(dict, location, "data"), location);
        if (rowLength != CifarClasses.PixelsPerImage)
            throw new DataFormatException($"{location}: 'data' rows have {rowLength} values; a 32x32x3 image needs {CifarClasses.PixelsPerImage}.");
        if (rows != labels.Length)
            throw new DataFormatException($"{location}: 'data' has {rows} images but 'labels' has {labels.Length}.");

        var pixels = new byte[rows * CifarClasses.PixelsPerImage];
        for (int i = 0; i < rows; i++)
        {
            BinaryBatch.PlanarToInterleaved(
                planar.AsSpan(i * CifarClasses.PixelsPerImage, CifarClasses.PixelsPerImage),
                pixels.AsSpan(i * CifarClasses.PixelsPerImage, CifarClasses.PixelsPerImage));
        }
        return (pixels, labels);
    }

    static object? Get(Dictionary<object, object?> dict, string location, params string[] keys)
    {
        foreach (string key in keys)
        {
            if (dict.TryGetValue(key, out var value)) return value;
        }
        throw new DataFormatException($"{location}: the batch has no '{keys[0]}' entry.");
    }

    static byte[] ReadLabels(object? value, string location)
    {
        if (value is List<object?> list)
        {
            var labels = new byte[list.Count];
            for (int i = 0; i < list.Count; i++)
            {
                long label = list[i] is long l ? l : throw new DataFormatException($"{location}: label {i} is not an integer.");
                labels[i] = LabelCheck.Checked(label, location, i);
            }
            return labels;
        }
        var (values, _, _) = NumpyArray.ReadIntegers(value, location, "labels");
        var result = new byte[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = LabelCheck.Checked(values[i], location, i);
        return result;
    }
}
