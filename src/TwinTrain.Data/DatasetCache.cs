using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;

namespace TwinTrain.Data;

/// <summary>
/// Decoded CIFAR-10 kept on disk as raw uint8 so later runs load it in a fraction of a second.
/// Layout: a 64-byte header (magic, version, counts, the form read, source fingerprint hash, XxHash3 of the header's
/// first 32 bytes and the payload), then train labels, test labels, train pixels, test pixels. A cache whose source changed, whose
/// bytes (counts included) do not match the checksum, or that cannot be read, is ignored and rebuilt.
/// </summary>
public sealed class DatasetCache(string folder)
{
    static readonly byte[] Magic = "TTCIFAR\0"u8.ToArray();
    // 3: JPEG decoded by libjpeg-turbo (before: StbImageSharp, whose pixels differ); the form is kept.
    const int Version = 3;
    const int HeaderSize = 64;

    public string Folder { get; } = folder;

    /// <summary>Where the cache for <paramref name="source"/> lives.</summary>
    public string PathFor(string source)
    {
        string full = Path.GetFullPath(source).TrimEnd('/', '\\');
        string id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..16];
        return Path.Combine(Folder, $"cifar10-{id}.ttc");
    }

    /// <summary>The cached data, or null with the reason when there is no usable cache.</summary>
    public (Cifar10? Data, CifarForm Form, string? Reason) TryLoad(string source)
    {
        string file = PathFor(source);
        if (!File.Exists(file)) return (null, default, "no cache yet");
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            Span<byte> header = stackalloc byte[HeaderSize];
            if (stream.Read(header) != HeaderSize || !header[..8].SequenceEqual(Magic))
                return (null, default, $"{file} is not a TwinTrain cache");
            if (BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != Version)
                return (null, default, $"{file} was written by another version");
            int train = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            int test = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
            var form = (CifarForm)BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
            ulong fingerprint = BinaryPrimitives.ReadUInt64LittleEndian(header[24..]);
            ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
            if (fingerprint != Fingerprint(source)) return (null, default, "the source changed since the cache was written");
            if (train < 0 || test < 0 || stream.Length != HeaderSize + (long)(train + test) * (1 + CifarClasses.PixelsPerImage))
                return (null, default, $"{file} has the wrong size (truncated?)");

            var trainLabels = new byte[train];
            var testLabels = new byte[test];
            var trainPixels = new byte[(long)train * CifarClasses.PixelsPerImage];
            var testPixels = new byte[(long)test * CifarClasses.PixelsPerImage];
            var hash = new XxHash3();
            hash.Append(header[..32]);
            foreach (var part in new[] { trainLabels, testLabels, trainPixels, testPixels })
            {
                stream.ReadExactly(part);
                hash.Append(part);
            }
            if (hash.GetCurrentHashAsUInt64() != checksum) return (null, default, $"{file} is corrupt (checksum mismatch)");
            if (trainLabels.Concat(testLabels).Any(l => l >= CifarClasses.Count)) return (null, default, $"{file} has bad labels");
            if (!Enum.IsDefined(form)) return (null, default, $"{file} names an unknown form");
            return (new Cifar10(new ImageSet(trainPixels, trainLabels), new ImageSet(testPixels, testLabels)), form, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, default, $"{file} could not be read ({e.Message})");
        }
    }

    /// <summary>Writes the cache atomically (temporary file, then rename).</summary>
    public void Save(string source, Cifar10 data, CifarForm form)
    {
        Directory.CreateDirectory(Folder);
        string file = PathFor(source);
        byte[][] parts = [data.Train.Labels, data.Test.Labels, data.Train.Pixels, data.Test.Pixels];
        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), data.Train.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), data.Test.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(20), (int)form);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(24), Fingerprint(source));
        var hash = new XxHash3();
        hash.Append(header.AsSpan(0, 32));
        foreach (var part in parts) hash.Append(part);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(32), hash.GetCurrentHashAsUInt64());
        AtomicFile.Write(file, stream =>
        {
            stream.Write(header);
            foreach (var part in parts) stream.Write(part);
        });
    }

    /// <summary>
    /// What identifies the source's current content cheaply: its path, sizes and modification times, and the JPEG
    /// decoder's version (another libjpeg-turbo may give other pixels).
    /// </summary>
    static ulong Fingerprint(string source)
    {
        var text = new StringBuilder(Path.GetFullPath(source)).Append("|jpeg:").Append(Formats.ImageFile.JpegDecoder);
        if (File.Exists(source))
        {
            var info = new FileInfo(source);
            text.Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks);
        }
        else if (Directory.Exists(source))
        {
            var files = Directory.GetFiles(source, "*", SearchOption.AllDirectories);
            Array.Sort(files, StringComparer.Ordinal);
            foreach (var f in files.Select(f => new FileInfo(f)))
                text.Append('|').Append(f.FullName).Append(':').Append(f.Length).Append(':').Append(f.LastWriteTimeUtc.Ticks);
        }
        return XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(text.ToString()));
    }
}
