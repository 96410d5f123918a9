using System.Runtime.InteropServices;
using System.Text;

namespace TwinTrain.Data;

/// <summary>
/// Writes files so that a crash at any moment leaves the old file or the new one, never a part: the bytes go to a
/// temporary file, are flushed to disk, and the name is swapped in with one rename (and the folder flushed, so the
/// rename itself survives a power cut). Every writer gets a temporary name no other writer can have (host, PID and a
/// per-process counter, created exclusively), so shards that write one file at once each rename a whole copy of
/// their own. A temporary file left by a writer that died is removed by the next write of the same file on that
/// host. Every step is a <see cref="FaultInjection"/> point, so tests can crash the process between any two of them.
/// </summary>
public static partial class AtomicFile
{
    const string Suffix = ".tmp";
    static long _temporaries;
    /// <summary>This machine's name (the host name, else the OS's machine name), for records that say where a process runs.</summary>
    public static string MachineName { get; } = ReadMachineName();

    // After MachineName: static initialisers run in the order they are written.
    static readonly string Host = SafeHostName();

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
        FaultInjection.Step($"write {Path.GetFileName(path)}");
        string temp = CreateTemporary(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.Truncate, FileAccess.Write, FileShare.None, 1 << 16))
            {
                fill(stream);
                stream.Flush(flushToDisk: true);
            }
            Commit(temp, path);
        }
        catch
        {
            TryDelete(temp); // a full disk or a bad stream: nothing of this attempt stays behind
            throw;
        }
    }

    /// <summary>
    /// Atomically writes a file that a library saves by path (a chart, a TorchSharp module): <paramref name="save"/>
    /// writes the temporary file, which is then flushed and renamed into place.
    /// </summary>
    public static void WriteThrough(string path, Action<string> save)
    {
        FaultInjection.Step($"write {Path.GetFileName(path)}");
        string temp = CreateTemporary(path);
        try
        {
            save(temp);
            SyncFile(temp);
            Commit(temp, path);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Creates (exclusively: it cannot be anyone else's) an empty temporary file beside <paramref name="path"/> and
    /// returns its name, for a writer that fills it itself (a library's own save) before <see cref="Commit"/>.
    /// </summary>
    public static string CreateTemporary(string path)
    {
        while (true)
        {
            string temp = $"{path}.{Host}.{Environment.ProcessId}.{Interlocked.Increment(ref _temporaries)}{Suffix}";
            try
            {
                using (new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None)) { }
                return temp;
            }
            catch (IOException) when (File.Exists(temp))
            {
                // A leftover of an earlier process with the same PID (a container restarted): take the next number.
            }
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> with what <paramref name="write"/> writes to a temporary file, only if no file
    /// is there yet (of several processes at once, exactly one creates it); false when one already was.
    /// </summary>
    public static bool CreateIfAbsent(string path, Action<string> write)
    {
        string temp = CreateTemporary(path);
        try
        {
            write(temp);
            File.Move(temp, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            TryDelete(temp);
            return false;
        }
    }

    /// <summary>Renames a finished temporary file (already on disk) into place, makes the rename durable, and removes dead writers' leftovers.</summary>
    public static void Commit(string temp, string path)
    {
        FaultInjection.Step($"rename {Path.GetFileName(path)}");
        File.Move(temp, path, overwrite: true);
        SyncFolderOf(path);
        RemoveLeftovers(path);
    }

    /// <summary>
    /// Deletes the temporary files of <paramref name="path"/> that no live writer owns: those of a process on this
    /// host that has ended, and the single "X.tmp" name of older versions. Another host's are left alone (its
    /// processes cannot be seen from here), and so are this process's own (another thread may be writing).
    /// </summary>
    public static void RemoveLeftovers(string path)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!, name = Path.GetFileName(path);
        string[] candidates;
        try
        {
            candidates = Directory.GetFiles(folder, name + ".*"); // "X.tmp" as well as "X.HOST.PID.N.tmp"
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // best effort: the file itself is written
        }
        foreach (string candidate in candidates)
        {
            if (IsLeftover(Path.GetFileName(candidate), name)) TryDelete(candidate);
        }
    }

    /// <summary>Whether <paramref name="candidate"/> is a temporary name of <paramref name="name"/> whose writer is gone.</summary>
    static bool IsLeftover(string candidate, string name)
    {
        if (candidate == name + Suffix) return true; // the older versions' one name
        // (Directory.GetFiles's "X.*" also matches X itself.)
        if (!candidate.StartsWith(name + ".", StringComparison.Ordinal) || !candidate.EndsWith(Suffix, StringComparison.Ordinal)
            || candidate.Length < name.Length + 1 + Suffix.Length) return false;
        // NAME.HOST.PID.N.tmp; the host may itself contain dots.
        var parts = candidate[(name.Length + 1)..^Suffix.Length].Split('.');
        if (parts.Length < 3 || !int.TryParse(parts[^2], out int pid) || !long.TryParse(parts[^1], out _)) return false;
        if (string.Join('.', parts[..^2]) != Host || pid == Environment.ProcessId) return false;
        return !IsRunning(pid);
    }

    /// <summary>Whether a process of this machine with that PID is running (the test for a writer, a lock holder or a worker that is gone).</summary>
    public static bool IsRunning(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    static void TryDelete(string file)
    {
        try { File.Delete(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The host name as it can stand in a file name (no separators), so temporary names tell hosts apart on a shared folder.</summary>
    static string SafeHostName()
    {
        var safe = new string([.. MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-')]);
        return safe.Length == 0 ? "host" : safe;
    }

    static string ReadMachineName()
    {
        try { return System.Net.Dns.GetHostName(); }
        catch (System.Net.Sockets.SocketException) { return Environment.MachineName; }
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
