using System.Globalization;

namespace TwinTrain.Experiment.Checkpoints;

/// <summary>
/// One process per output folder: an exclusive lock on FOLDER/.lock (flock on Linux, which the kernel releases when
/// the process dies however it dies), with the holder's PID and command in FOLDER/.lock-holder for the message a
/// second process gets. Two runs on one folder would otherwise both train and overwrite each other's files.
/// </summary>
public sealed class FolderLock : IDisposable
{
    const string LockFile = ".lock", HolderFile = ".lock-holder";
    readonly FileStream _lock;

    FolderLock(FileStream held) => _lock = held;

    /// <summary>For a shared hold: who held the folder before this process (another shard), as its holder file said; null if none.</summary>
    public string? PreviousHolder { get; private init; }

    /// <summary>Takes the folder (creating it) or throws at once naming the process that holds it.</summary>
    public static FolderLock Take(string folder, string command) => Hold(folder, command, shared: false);

    /// <summary>
    /// Takes a shared hold on the folder (the shards of one comparison: several at once, but never beside a plain
    /// compare's exclusive one), or throws at once naming the exclusive holder.
    /// </summary>
    public static FolderLock TakeShared(string folder, string command) => Hold(folder, command, shared: true);

    static FolderLock Hold(string folder, string command, bool shared)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, LockFile), holder = Path.Combine(folder, HolderFile);
        FileStream held;
        try
        {
            // .NET takes an exclusive flock for FileShare.None and a shared one for FileShare.ReadWrite, failing at once on a conflict.
            held = shared
                ? new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite)
                : new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new IOException($"{folder}: in use by another TwinTrain process ({Holder(folder)}); " +
                (shared ? "a shard cannot share a folder with a plain compare, resume or report." : "wait for it to finish or choose another --out."));
        }
        string? previous = shared && File.Exists(holder) ? Holder(folder) : null;
        // Shards start together; AtomicFile gives each its own temporary file when another is writing, and the last rename names the holder.
        Data.AtomicFile.WriteAllText(holder,
            string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId}, '{command}' since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC\n"));
        return new FolderLock(held) { PreviousHolder = previous };
    }

    static string Holder(string folder)
    {
        try
        {
            return File.ReadAllText(Path.Combine(folder, HolderFile)).Trim();
        }
        catch (IOException)
        {
            return "its PID is not recorded";
        }
    }

    public void Dispose() => _lock.Dispose();
}
