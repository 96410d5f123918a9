using System.Globalization;

namespace TwinTrain.Experiment.Checkpoints;

/// <summary>
/// One process per output folder: an exclusive lock on FOLDER/.lock (flock on Linux, which the kernel releases when
/// the process dies however it dies), with the holder's PID, host and command in FOLDER/.lock-holder for the message a
/// second process gets and for `twintrain status`. Two runs on one folder would otherwise both train and overwrite
/// each other's files. An exclusive holder removes its holder file when it lets go, so a holder file beside a free
/// lock names a process that ended without letting go (killed), or one on a host whose locks this one cannot see.
/// </summary>
public sealed class FolderLock : IDisposable
{
    const string LockFile = ".lock", HolderFile = ".lock-holder";
    readonly FileStream _lock;
    readonly string? _ownHolderFile;

    FolderLock(FileStream held, string? ownHolderFile)
    {
        _lock = held;
        _ownHolderFile = ownHolderFile;
    }

    /// <summary>Who held the folder before this process, as its holder file said (another shard; or a process that ended without letting go); null if none.</summary>
    public string? PreviousHolder { get; private init; }

    /// <summary>This machine's name, as holder files record it.</summary>
    public static string Host => Data.AtomicFile.MachineName;

    /// <summary>A holder file's process: its PID and host (null in files written before hosts were recorded), and its whole text.</summary>
    public sealed record Holder(int Pid, string? Host, string Text)
    {
        public bool OnThisHost => Host is null || Host == FolderLock.Host;
    }

    /// <summary>The folder's holder file, or null when there is none (or it cannot be read).</summary>
    public static Holder? ReadHolder(string folder)
    {
        try
        {
            string text = File.ReadAllText(Path.Combine(folder, HolderFile)).Trim();
            var match = System.Text.RegularExpressions.Regex.Match(text, @"^pid (\d+)(?: on (\S+?))?,");
            return match.Success ? new Holder(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Success ? match.Groups[2].Value : null, text) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Whether a process holds the folder's lock, seen without taking it (/proc/locks); null where this machine cannot tell.</summary>
    public static bool? IsHeld(string folder) => LockProbe.IsHeld(Path.Combine(folder, LockFile));

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
            throw new IOException($"{folder}: in use by another TwinTrain process ({HolderText(folder)}); " +
                (shared ? "a shard cannot share a folder with a plain compare, resume or report." : "wait for it to finish or choose another --out."));
        }
        string? previous = File.Exists(holder) ? HolderText(folder) : null;
        // Shards start together; AtomicFile gives each its own temporary file when another is writing, and the last rename names the holder.
        Data.AtomicFile.WriteAllText(holder,
            string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId} on {Host}, '{command}' since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC\n"));
        return new FolderLock(held, shared ? null : holder) { PreviousHolder = previous };
    }

    static string HolderText(string folder)
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

    public void Dispose()
    {
        // Still holding the lock: no other process can be writing the holder file now.
        if (_ownHolderFile is not null)
        {
            try
            {
                File.Delete(_ownHolderFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A holder file left behind only makes status call the folder's last holder stale.
            }
        }
        _lock.Dispose();
    }
}
