using System.Formats.Tar;
using System.IO.Compression;

namespace TwinTrain.Data.Sources;

/// <summary>
/// The files of a dataset as a folder or a .tar.gz / .tgz / .tar archive. Archives are streamed entry by entry,
/// never extracted to disk, and verified whole: the gzip CRC and length, the tar end-of-archive marker (an archive cut
/// short is an error, even at an entry boundary), and entries with absolute or '..' paths make it rejected. Every file
/// must be a regular file no larger than its kind allows, so a device, a FIFO, a symlink loop or a gzip bomb is an
/// error instead of a hang or an out-of-memory crash.
/// </summary>
public static class DatasetSource
{
    static readonly string[] ArchiveExtensions = [".tar.gz", ".tgz", ".tar"];

    public static bool IsArchive(string path) => ArchiveExtension(path) is not null;

    /// <summary>The archive extension <paramref name="path"/> ends in (".tar.gz", ".tgz", ".tar"), or null.</summary>
    public static string? ArchiveExtension(string path) =>
        ArchiveExtensions.FirstOrDefault(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Visits each regular file. <paramref name="maxBytes"/> sees a relative path and gives the largest size a file of
    /// that kind may have, or null when its bytes are not needed, so uninteresting entries are skipped unread.
    /// </summary>
    public static void Visit(string path, Func<string, long?> maxBytes, Action<SourceEntry> visit)
    {
        if (Directory.Exists(path)) VisitFolder(path, maxBytes, visit);
        else if (File.Exists(path))
        {
            if (!IsArchive(path))
                throw new DataFormatException($"{path}: not a folder or a .tar.gz/.tgz/.tar archive.");
            VisitArchive(path, maxBytes, visit);
        }
        else throw new FileNotFoundException($"{path}: no such file or folder.", path);
    }

    /// <summary>
    /// The files of a release, each under the key <paramref name="keyOf"/> gives its path (null: not one of them),
    /// read whole (at most <paramref name="maxBytes"/> each); a key found twice is one error naming both files.
    /// </summary>
    public static Dictionary<string, (byte[] Bytes, string Location)> CollectByKey(string path, Func<string, string?> keyOf, long maxBytes)
    {
        var files = new Dictionary<string, (byte[] Bytes, string Location)>(StringComparer.Ordinal);
        Visit(path, relative => keyOf(relative) is null ? null : maxBytes, entry =>
        {
            string key = keyOf(entry.RelativePath)!;
            if (files.TryGetValue(key, out var first))
                throw new DataFormatException($"{path}: holds '{key}' twice ({first.Location} and {entry.Location}); keep one.");
            files[key] = (entry.ReadAll(), entry.Location);
        });
        return files;
    }

    static void VisitFolder(string root, Func<string, long?> maxBytes, Action<SourceEntry> visit)
    {
        foreach (string file in FilesUnder(root))
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (maxBytes(relative) is not long limit) continue;
            CheckSize(file, SizeOfRegularFile(file), limit);
            visit(new SourceEntry(relative, file, () => ReadFile(file, limit)));
        }
    }

    /// <summary>Every file under <paramref name="root"/> in ordinal order, following folder symlinks once (a loop is an error).</summary>
    static List<string> FilesUnder(string root)
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Walk(string folder)
        {
            var info = new DirectoryInfo(folder);
            string real = info.LinkTarget is null ? info.FullName : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
            if (!seen.Add(Path.TrimEndingDirectorySeparator(Path.GetFullPath(real))))
                throw new DataFormatException($"{folder}: a symbolic link loop (this folder was already read); refusing to read it again.");
            files.AddRange(Directory.GetFiles(folder));
            foreach (string child in Directory.GetDirectories(folder).Order(StringComparer.Ordinal)) Walk(child);
        }
        Walk(root);
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>
    /// The size of a regular file (through symlinks). FIFOs, devices and /proc files report none and are refused
    /// before being opened, so they can neither hang a read nor flood memory.
    /// </summary>
    public static long SizeOfRegularFile(string file)
    {
        var info = new FileInfo(file);
        if (info.LinkTarget is not null) info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
        long length = info.Exists ? info.Length : 0;
        return length > 0 ? length : throw new DataFormatException($"{file}: empty, or not a regular file (a device, a FIFO?).");
    }

    /// <summary>Reads a whole regular file of at most <paramref name="limit"/> bytes.</summary>
    public static byte[] ReadFile(string file, long limit)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        if (stream.Length == 0) throw new DataFormatException($"{file}: empty, or not a regular file (a device, a FIFO?).");
        if (stream.Length > limit) CheckSize(file, stream.Length, limit);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    static void CheckSize(string location, long length, long limit)
    {
        if (length > limit)
            throw new DataFormatException($"{location}: {length:N0} bytes, more than a file of its kind can be ({limit:N0}); refusing to read it.");
    }

    static void VisitArchive(string archive, Func<string, long?> maxBytes, Action<SourceEntry> visit)
    {
        using var file = File.OpenRead(archive);
        using Stream unpacked = archive.EndsWith(".tar", StringComparison.OrdinalIgnoreCase)
            ? file
            : new GZipStream(file, CompressionMode.Decompress);
        using var data = new TailStream(unpacked);
        using var reader = new TarReader(data);
        while (true)
        {
            TarEntry? entry;
            try
            {
                entry = reader.GetNextEntry();
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or OverflowException)
            {
                throw new DataFormatException($"{archive}: the archive is truncated or corrupt ({e.Message}).", e);
            }
            if (entry is null) break;

            string name = CheckSafe(archive, entry.Name);
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            if (maxBytes(name) is not long limit) continue;
            CheckSize($"{archive}:{name}", entry.Length, limit);

            byte[] bytes = ReadEntry(archive, entry);
            visit(new SourceEntry(name, $"{archive}:{name}", () => bytes));
        }
        VerifyEnd(archive, data);
    }

    /// <summary>
    /// The tar reader stops at the end-of-archive marker, or silently at the end of the bytes: only the marker (a block
    /// of zeros) means the archive is whole. Reading on to the end then makes the gzip stream check its CRC and length.
    /// </summary>
    static void VerifyEnd(string archive, TailStream data)
    {
        try
        {
            bool marker = data.LastBlockIsZeros;
            var rest = new byte[1 << 16];
            int read;
            while ((read = data.Read(rest)) > 0)
            {
                if (rest.AsSpan(0, read).ContainsAnyExcept((byte)0))
                    throw new DataFormatException($"{archive}: data after the tar end-of-archive marker; the archive is corrupt.");
            }
            if (!marker)
                throw new DataFormatException($"{archive}: the archive is truncated (it ends without the tar end-of-archive marker).");
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new DataFormatException($"{archive}: the archive is corrupt ({e.Message}; the gzip checksum or length does not match).", e);
        }
    }

    static byte[] ReadEntry(string archive, TarEntry entry)
    {
        if (entry.DataStream is null) return [];
        var bytes = new byte[entry.Length];
        try
        {
            entry.DataStream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new DataFormatException($"{archive}: entry '{entry.Name}' is truncated or corrupt ({e.Message}).", e);
        }
        return bytes;
    }

    /// <summary>Normalises an entry name, rejecting absolute paths and '..' segments (a "tar slip").</summary>
    internal static string CheckSafe(string archive, string name)
    {
        string normalised = name.Replace('\\', '/');
        bool absolute = normalised.StartsWith('/') || (normalised.Length > 1 && normalised[1] == ':');
        if (absolute || normalised.Split('/').Contains(".."))
            throw new DataFormatException($"{archive}: entry '{name}' points outside the archive (absolute path or '..'); refusing to read it.");
        while (normalised.StartsWith("./", StringComparison.Ordinal)) normalised = normalised[2..];
        return normalised;
    }

    /// <summary>A read-only pass-through that remembers whether the last 512-byte tar block it gave out was all zeros.</summary>
    sealed class TailStream(Stream inner) : Stream
    {
        readonly byte[] _tail = new byte[512];
        long _position;

        public bool LastBlockIsZeros => _position >= 512 && _position % 512 == 0 && !_tail.AsSpan().ContainsAnyExcept((byte)0);

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int read = inner.Read(buffer);
            var got = buffer[..read];
            if (read >= 512) got[^512..].CopyTo(_tail);
            else if (read > 0)
            {
                _tail.AsSpan(read).CopyTo(_tail);
                got.CopyTo(_tail.AsSpan(512 - read));
            }
            _position += read;
            return read;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
