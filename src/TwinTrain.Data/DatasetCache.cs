using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;

namespace TwinTrain.Data;

/// <summary>
/// A decoded data set kept on disk as raw uint8 so later runs load it in a fraction of a second, one file per source
/// and data set. Layout: a 64-byte header (magic, version, counts, the form read, source fingerprint hash, XxHash3 of
/// the rest, the length of the description), the data set's description (name, image shape, class names, as JSON),
/// then train labels, test labels, train pixels, test pixels. A cache whose source changed, whose bytes (counts and
/// description included) do not match the checksum, or that cannot be read, is ignored and rebuilt.
/// </summary>
public sealed class DatasetCache(string folder)
{
    static readonly byte[] Magic = "TTCIFAR\0"u8.ToArray();
    // 3: JPEG decoded by libjpeg-turbo (before: StbImageSharp, whose pixels differ); the form is kept.
    // 4: any data set, its description kept. 5: the description read back (an image folder's classes are found when
    // it is read), its title kept; the key includes how image folders are resized and coloured.
    const int Version = 5;
    const int HeaderSize = 64;
    const int MaxDescriptionBytes = 1 << 20;

    public string Folder { get; } = folder;

    /// <summary>
    /// Where the cache of <paramref name="source"/> read as <paramref name="dataset"/> (null: as what it holds) with
    /// <paramref name="images"/> lives.
    /// </summary>
    public string PathFor(string source, DatasetInfo? dataset, ImageFolderOptions? images = null)
    {
        string full = Path.GetFullPath(source).TrimEnd('/', '\\') + "|" + (images ?? ImageFolderOptions.Default);
        string id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..16];
        return Path.Combine(Folder, $"{dataset?.Name ?? "data"}-{id}.ttc");
    }

    /// <summary>
    /// The cached data, or null with the reason when there is no usable cache. The data set is the one the cache
    /// describes, which must be <paramref name="dataset"/> when that is given.
    /// </summary>
    public (Dataset? Data, DataForm Form, string? Reason) TryLoad(string source, DatasetInfo? dataset, ImageFolderOptions? images = null)
    {
        string file = PathFor(source, dataset, images);
        if (!File.Exists(file)) return (null, default, "no cache yet");
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            var header = new byte[HeaderSize];
            if (stream.Read(header) != HeaderSize || !header.AsSpan(0, 8).SequenceEqual(Magic))
                return (null, default, $"{file} is not a TwinTrain cache");
            if (BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8)) != Version)
                return (null, default, $"{file} was written by another version");
            int train = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12));
            int test = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(16));
            var form = (DataForm)BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(20));
            ulong fingerprint = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(24));
            ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(32));
            int descriptionLength = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(40));
            if (fingerprint != Fingerprint(source)) return (null, default, "the source changed since the cache was written");
            if (descriptionLength is <= 0 or > MaxDescriptionBytes || train < 0 || test < 0 || stream.Length < HeaderSize + descriptionLength)
                return (null, default, $"{file} has the wrong size (truncated?)");
            var description = new byte[descriptionLength];
            stream.ReadExactly(description);
            if (Described(description) is not { } described) return (null, default, $"{file} is corrupt (its description cannot be read)");
            if (dataset is not null && described != dataset) return (null, default, $"{file} describes another data set");
            if (stream.Length != HeaderSize + descriptionLength + (long)(train + test) * (1 + described.Shape.Pixels))
                return (null, default, $"{file} has the wrong size (truncated?)");
            dataset = described;

            var trainLabels = new byte[train];
            var testLabels = new byte[test];
            var trainPixels = new byte[(long)train * dataset.Shape.Pixels];
            var testPixels = new byte[(long)test * dataset.Shape.Pixels];
            var hash = new XxHash3();
            HashHeader(hash, header);
            hash.Append(description);
            foreach (var part in new[] { trainLabels, testLabels, trainPixels, testPixels })
            {
                stream.ReadExactly(part);
                hash.Append(part);
            }
            if (hash.GetCurrentHashAsUInt64() != checksum) return (null, default, $"{file} is corrupt (checksum mismatch)");
            if (trainLabels.Concat(testLabels).Any(l => l >= dataset.Classes)) return (null, default, $"{file} has bad labels");
            if (!Enum.IsDefined(form)) return (null, default, $"{file} names an unknown form");
            return (new Dataset(dataset, new ImageSet(trainPixels, trainLabels, dataset.Shape), new ImageSet(testPixels, testLabels, dataset.Shape)), form, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, default, $"{file} could not be read ({e.Message})");
        }
    }

    /// <summary>Writes the cache atomically (temporary file, then rename).</summary>
    public void Save(string source, DatasetInfo? requested, ImageFolderOptions? images, Dataset data, DataForm form)
    {
        Directory.CreateDirectory(Folder);
        string file = PathFor(source, requested, images);
        byte[] description = Describe(data.Info);
        byte[][] parts = [description, data.Train.Labels, data.Test.Labels, data.Train.Pixels, data.Test.Pixels];
        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), data.Train.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), data.Test.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(20), (int)form);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(24), Fingerprint(source));
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(40), description.Length);
        var hash = new XxHash3();
        HashHeader(hash, header);
        foreach (var part in parts) hash.Append(part);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(32), hash.GetCurrentHashAsUInt64());
        AtomicFile.Write(file, stream =>
        {
            stream.Write(header);
            foreach (var part in parts) stream.Write(part);
        });
    }

    /// <summary>The header's bytes but the checksum's own.</summary>
    static void HashHeader(XxHash3 hash, byte[] header)
    {
        hash.Append(header.AsSpan(0, 32));
        hash.Append(header.AsSpan(40));
    }

    static byte[] Describe(DatasetInfo dataset) => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
        new Description(dataset.Name, dataset.Title, dataset.Shape.ChannelsLast, [.. dataset.ClassNames]));

    sealed record Description(string Name, string Title, int[] Shape, string[] Classes);

    /// <summary>The data set a description names, or null when it is not one (then the cache is rebuilt).</summary>
    static DatasetInfo? Described(byte[] description)
    {
        try
        {
            var d = System.Text.Json.JsonSerializer.Deserialize<Description>(description);
            return d is null ? null : DatasetInfo.Recorded(d.Name, d.Shape, d.Classes, d.Title);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or DataFormatException or ArgumentException)
        {
            return null;
        }
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
