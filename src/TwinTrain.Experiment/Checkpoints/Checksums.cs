using System.Security.Cryptography;
using TwinTrain.Data;

namespace TwinTrain.Experiment.Checkpoints;

/// <summary>
/// SHA-256 sums of model files in the format of GNU sha256sum ("HASH  NAME" lines), so `sha256sum -c` checks them
/// too: a folder's SHA256SUMS (checkpoints) or a file's own NAME.sha256 (converted models). Every model load checks the
/// sum when one is there, and a mismatch is an error naming the file.
/// </summary>
public static class Checksums
{
    public const string FolderFile = "SHA256SUMS";
    public const string Extension = ".sha256";

    public static string Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Writes SHA256SUMS for the given files of <paramref name="folder"/>; returns name → sum.</summary>
    public static IReadOnlyDictionary<string, string> WriteFolder(string folder, IEnumerable<string> names)
    {
        var sums = names.Order(StringComparer.Ordinal).ToDictionary(n => n, n => Of(Path.Combine(folder, n)));
        AtomicFile.WriteAllText(Path.Combine(folder, FolderFile), Lines(sums));
        return sums;
    }

    /// <summary>Writes NAME.sha256 beside a file.</summary>
    public static void WriteBeside(string path) =>
        AtomicFile.WriteAllText(path + Extension, Lines(new Dictionary<string, string> { [Path.GetFileName(path)] = Of(path) }));

    /// <summary>
    /// Checks <paramref name="path"/> against the sum recorded for it (its folder's SHA256SUMS, or NAME.sha256);
    /// returns whether one was recorded. A file that does not match is an error.
    /// </summary>
    public static bool Verify(string path)
    {
        string name = Path.GetFileName(path);
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (string list in new[] { Path.Combine(folder, FolderFile), path + Extension })
        {
            if (!File.Exists(list)) continue;
            var sums = Read(list);
            if (!sums.TryGetValue(name, out string? expected)) continue;
            Check(path, expected, list);
            return true;
        }
        return false;
    }

    /// <summary>Throws when the file's SHA-256 is not <paramref name="expected"/>.</summary>
    public static void Check(string path, string expected, string recordedIn)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: missing (it is listed in {recordedIn}).", path);
        string actual = Of(path);
        if (actual != expected)
            throw new InvalidDataException($"{path}: the file is damaged: its SHA-256 is {actual[..12]}…, {Path.GetFileName(recordedIn)} records {expected[..Math.Min(12, expected.Length)]}….");
    }

    static Dictionary<string, string> Read(string list)
    {
        var sums = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadAllLines(list))
        {
            if (line.Length == 0) continue;
            int space = line.IndexOf("  ", StringComparison.Ordinal);
            if (space != 64) throw new InvalidDataException($"{list}: not a SHA-256 list (line '{(line.Length > 40 ? line[..40] + "…" : line)}').");
            sums[line[(space + 2)..]] = line[..space];
        }
        return sums;
    }

    static string Lines(IReadOnlyDictionary<string, string> sums) => string.Concat(sums.Select(s => $"{s.Value}  {s.Key}\n"));
}
