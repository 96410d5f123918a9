using System.Buffers.Binary;

namespace TwinTrain.Data.Formats;

/// <summary>
/// Reads a pickled numpy array: a call to numpy's _reconstruct whose BUILD state is
/// (version, shape, dtype, is_fortran, raw bytes).
/// </summary>
internal static class NumpyArray
{
    public static (byte[] Data, int Rows, int Columns) ReadUInt8Matrix(object? value, string location)
    {
        var (shape, dtype, raw) = Unpack(value, location, "data");
        if (dtype != "u1" && dtype != "b1" && dtype != "i1")
            throw new DataFormatException($"{location}: 'data' has numpy dtype '{dtype}'; expected uint8.");
        if (shape.Length != 2)
            throw new DataFormatException($"{location}: 'data' has {shape.Length} dimensions; expected 2 (images x 3072).");
        long expected = shape[0] * shape[1];
        if (raw.Length != expected)
            throw new DataFormatException($"{location}: 'data' holds {raw.Length} bytes but its shape needs {expected}; truncated?");
        return (raw, (int)shape[0], (int)shape[1]);
    }

    public static (long[] Values, long[] Shape, string Dtype) ReadIntegers(object? value, string location, string what)
    {
        var (shape, dtype, raw) = Unpack(value, location, what);
        int size = dtype.Length > 1 && int.TryParse(dtype[1..], out int n) ? n : 0;
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (size == 0 || (dtype[0] != 'i' && dtype[0] != 'u') || size is not (1 or 2 or 4 or 8) || raw.Length != count * size)
            throw new DataFormatException($"{location}: '{what}' is not an integer array (dtype '{dtype}', {raw.Length} bytes).");
        var values = new long[count];
        for (int i = 0; i < count; i++)
        {
            var bytes = raw.AsSpan(i * size, size);
            values[i] = (dtype[0], size) switch
            {
                ('u', 1) => bytes[0],
                ('i', 1) => (sbyte)bytes[0],
                ('u', 2) => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
                ('i', 2) => BinaryPrimitives.ReadInt16LittleEndian(bytes),
                ('u', 4) => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
                ('i', 4) => BinaryPrimitives.ReadInt32LittleEndian(bytes),
                _ => BinaryPrimitives.ReadInt64LittleEndian(bytes),
            };
        }
        return (values, shape, dtype);
    }

    static (long[] Shape, string Dtype, byte[] Raw) Unpack(object? value, string location, string what)
    {
        if (value is not PickleCall { Callable.Name: "_reconstruct", State: object?[] state } || state.Length < 5)
            throw new DataFormatException($"{location}: '{what}' is not a numpy array.");
        var shape = (state[1] as object?[])?.Select(d => d is long l ? l : -1).ToArray()
            ?? throw new DataFormatException($"{location}: '{what}' has no numpy shape.");
        if (shape.Any(d => d < 0)) throw new DataFormatException($"{location}: '{what}' has a bad numpy shape.");
        if (state[3] is true) throw new DataFormatException($"{location}: '{what}' is a Fortran-ordered numpy array; expected C order.");

        string dtype = state[2] is PickleCall { Callable.Name: "dtype", Args: [var code, ..] }
            ? code switch { string text => text, byte[] bytes => System.Text.Encoding.Latin1.GetString(bytes), _ => "?" }
            : "?";
        if (state[2] is PickleCall { State: object?[] dtypeState } && dtypeState.Length > 1 && dtypeState[1] is ">")
            throw new DataFormatException($"{location}: '{what}' is big-endian; expected little-endian.");
        byte[] raw = state[4] switch
        {
            byte[] b => b,
            string s => System.Text.Encoding.Latin1.GetBytes(s),
            _ => throw new DataFormatException($"{location}: '{what}' has no raw numpy data."),
        };
        return (shape, dtype, raw);
    }
}
