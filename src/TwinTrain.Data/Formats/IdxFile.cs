using System.Buffers.Binary;
using System.IO.Compression;

namespace TwinTrain.Data.Formats;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a big-endian magic of two zero bytes, the
/// element type (0x08 for unsigned bytes, the only one these sets use) and the dimension count, then one big-endian
/// int32 size per dimension, then the elements. Gzipped or not, as keras.datasets and torchvision read it.
/// </summary>
public static class IdxFile
{
    const byte UnsignedByte = 0x08;

    /// <summary>The sizes and bytes of an IDX file of unsigned bytes with <paramref name="dimensions"/> dimensions.</summary>
    public static (int[] Sizes, byte[] Data) Parse(byte[] file, string location, int dimensions)
    {
        byte[] bytes = file is [0x1F, 0x8B, ..] ? Gunzip(file, location) : file;
        if (bytes.Length < 4)
            throw new DataFormatException($"{location}: {bytes.Length} bytes, too short for an IDX file.");
        if (bytes[0] != 0 || bytes[1] != 0 || bytes[2] != UnsignedByte)
            throw new DataFormatException($"{location}: not an IDX file of unsigned bytes (magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(bytes):X8}; expected 0x0000080{dimensions}).");
        if (bytes[3] != dimensions)
            throw new DataFormatException($"{location}: an IDX file of {bytes[3]} dimensions; expected {dimensions} ({(dimensions == 1 ? "labels" : "images x rows x columns")}).");
        if (bytes.Length < 4 + 4 * dimensions)
            throw new DataFormatException($"{location}: the IDX header is cut short.");
        var sizes = new int[dimensions];
        long count = 1;
        for (int d = 0; d < dimensions; d++)
        {
            int size = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (size <= 0) throw new DataFormatException($"{location}: dimension {d + 1} has size {size}.");
            sizes[d] = size;
            count *= size;
        }
        long expected = 4 + 4L * dimensions + count;
        if (bytes.Length != expected)
            throw new DataFormatException($"{location}: the header gives {string.Join(" x ", sizes)} = {count:N0} bytes of data, but the file holds {bytes.Length - 4 - 4 * dimensions:N0}; it is truncated or not what its header says.");
        return (sizes, bytes[(4 + 4 * dimensions)..]);
    }

    /// <summary>Decompresses a whole .gz, which makes GZipStream check its CRC and length; a cut or damaged one is an error.</summary>
    static byte[] Gunzip(byte[] file, string location)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(file), CompressionMode.Decompress);
            using var output = new MemoryStream();
            gzip.CopyTo(output);
            // GZipStream stops quietly where a cut file ends; the trailer's length (mod 2^32) tells.
            if (file.Length < 18 || BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - 4)) != (uint)output.Length)
                throw new DataFormatException($"{location}: the gzip data is truncated (its length does not match the gzip trailer).");
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException($"{location}: the gzip data is corrupt or truncated ({e.Message}).", e);
        }
    }
}
