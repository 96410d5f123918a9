using System.Formats.Tar;
using System.IO.Compression;

namespace TwinTrain.Data.Sources;

/// <summary>
/// The files of a dataset as a folder or a .tar.gz / .tgz / .tar archive. Archives are streamed entry by entry,
/// never extracted to disk; entries with absolute or '..' paths make the whole archive rejected.
/// </summary>
public static class DatasetSource
{
    public static bool IsArchive(string path) =>
        path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) ||
        path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) ||
        path.EndsWith(".tar", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Visits each regular file. <paramref name="wanted"/> sees a relative path and says whether its bytes are needed,
    /// so uninteresting entries are skipped without being read.
    /// </summary>
    public static void Visit(string path, Func<string, bool> wanted, Action<SourceEntry> visit)
    {
        if (Directory.Exists(path)) VisitFolder(path, wanted, visit);
        else if (File.Exists(path))
        {
            if (!IsArchive(path))
                throw new DataFormatException($"{path}: not a folder or a .tar.gz/.tgz/.tar archive.");
            VisitArchive(path, wanted, visit);
        }
        else throw new FileNotFoundException($"{path}: no such file or folder.", path);
    }

    static void VisitFolder(string root, Func<string, bool> wanted, Action<SourceEntry> visit)
    {
        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories);
        Array.Sort(files, StringComparer.Ordinal);
        foreach (string file in files)
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (!wanted(relative)) continue;
            visit(new SourceEntry(relative, file, () => File.ReadAllBytes(file)));
        }
    }

    static void VisitArchive(string archive, Func<string, bool> wanted, Action<SourceEntry> visit)
    {
        using var file = File.OpenRead(archive);
        using Stream data = archive.EndsWith(".tar", StringComparison.OrdinalIgnoreCase)
            ? file
            : new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(data);
        while (true)
        {
            TarEntry? entry;
            try
            {
                entry = reader.GetNextEntry();
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
            {
                throw new DataFormatException($"{archive}: the archive is truncated or corrupt ({e.Message}).", e);
            }
            if (entry is null) break;

            string name = CheckSafe(archive, entry.Name);
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            if (!wanted(name)) continue;

            byte[] bytes = ReadEntry(archive, entry);
            visit(new SourceEntry(name, $"{archive}:{name}", () => bytes));
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
}
