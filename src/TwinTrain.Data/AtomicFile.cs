using System.Runtime.InteropServices;
using System.Text;

namespace TwinTrain.Data;

/// <summary>
/// Writes files so that a crash at any moment leaves the old file or the new one, never a part: the bytes go to a
/// temporary name, are flushed to disk, and the name is swapped in with one rename (and the folder flushed, so the
/// rename itself survives a power cut). A temporary file left by an earlier crash is simply overwritten.
/// Every step is a <see cref="FaultInjection"/> point, so tests can crash the process between any two of them.
/// </summary>
public static partial class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(text)));

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        // A span cannot be captured by the lambda: copy once (these are small files: reports, ONNX, JSON).
        var copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    /// <summary>Writes what <paramref name="fill"/> puts into the stream, then renames it into place.</summary>
    public static void Write(string path, Action<Stream> fill)
    {
        string temp = TemporaryName(path);
        FaultInjection.Step($"write {Path.GetFileName(path)}");
        FileStream stream;
        try
        {
            stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        }
        catch (IOException) when (File.Exists(temp))
        {
            // Another process is writing the same file (two shards filling one cache): each renames its own whole copy.
            temp = $"{path}.{Environment.ProcessId}.tmp";
            stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        }
        using (stream)
        {
            fill(stream);
            stream.Flush(flushToDisk: true);
        }
        Commit(temp, path);
    }

    /// <summary>The temporary name a file is written under before it is renamed to <paramref name="path"/>.</summary>
    public static string TemporaryName(string path) => path + ".tmp";

    /// <summary>Renames a finished temporary file (already on disk) into place and makes the rename durable.</summary>
    public static void Commit(string temp, string path)
    {
        FaultInjection.Step($"rename {Path.GetFileName(path)}");
        File.Move(temp, path, overwrite: true);
        SyncFolderOf(path);
    }

    /// <summary>Flushes a file someone else wrote (a library's own save) to disk.</summary>
    public static void SyncFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Flushes a folder's entries (new names, renames) to disk; .NET has no API for it, so libc's fsync on Linux.</summary>
    public static void SyncFolder(string folder)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(folder, 0 /* O_RDONLY */);
        if (fd < 0) return; // best effort: a folder that cannot be opened cannot be flushed either
        try { _ = Fsync(fd); }
        finally { _ = Close(fd); }
    }

    static void SyncFolderOf(string path) => SyncFolder(Path.GetDirectoryName(Path.GetFullPath(path))!);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}

/// <summary>
/// A test hook for crash safety: with TWINTRAIN_FAULT=kill:N the process kills itself (SIGKILL, as an out-of-memory
/// kill or a power cut would end it) just before its Nth file operation; with TWINTRAIN_FAULT=enospc:N that operation
/// fails as on a full disk. kill:N:TEXT counts only operations whose description contains TEXT (kill:2:rename run.json
/// stops before the second commit of a run). TWINTRAIN_FAULT_LOG=FILE lists the operations counted. Unset, it costs
/// one comparison per file operation.
/// </summary>
public static class FaultInjection
{
    const string Variable = "TWINTRAIN_FAULT";
    static readonly (string Kind, int At, string Filter)? Plan = ParsePlan(Environment.GetEnvironmentVariable(Variable));
    static int _operations;

    /// <summary>Called before each file operation that matters for crash safety.</summary>
    public static void Step(string operation)
    {
        if (Plan is not { } plan || !operation.Contains(plan.Filter, StringComparison.Ordinal)) return;
        int n = Interlocked.Increment(ref _operations);
        if (Environment.GetEnvironmentVariable("TWINTRAIN_FAULT_LOG") is { Length: > 0 } log)
            File.AppendAllText(log, $"{n}\t{operation}\n");
        if (n != plan.At) return;
        if (plan.Kind == "kill") System.Diagnostics.Process.GetCurrentProcess().Kill();
        throw new IOException($"No space left on device (injected before '{operation}')");
    }

    static (string, int, string)? ParsePlan(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        var parts = value.Split(':', 3);
        return parts.Length >= 2 && parts[0] is "kill" or "enospc" && int.TryParse(parts[1], out int at) && at > 0
            ? (parts[0], at, parts.Length == 3 ? parts[2] : "")
            : throw new ArgumentException($"{Variable}={value}: expected kill:N, enospc:N or KIND:N:TEXT (N from 1).");
    }
}
