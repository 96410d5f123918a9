using System.Globalization;
using System.Runtime.InteropServices;

namespace TwinTrain.Experiment.Checkpoints;

/// <summary>
/// Whether a lock file is held, found without touching the lock: Linux lists every flock in /proc/locks by device and
/// inode, so a reader sees a holder on this machine (or, for a local file system, any holder) and takes nothing a
/// shard could trip over. Where /proc/locks cannot tell (another OS), the answer is unknown.
/// </summary>
internal static partial class LockProbe
{
    /// <summary>True when held, false when not, null when this machine cannot tell.</summary>
    public static bool? IsHeld(string lockFile)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/locks")) return null;
        if (!File.Exists(lockFile)) return false;
        if (Identity(lockFile) is not { } id) return null;
        foreach (string line in File.ReadLines("/proc/locks"))
        {
            // "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF" (a blocked waiter's line has "->" after the number)
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int at = Array.FindIndex(fields, f => f.Count(c => c == ':') == 2);
            if (at < 0 || fields.Contains("->")) continue;
            var parts = fields[at].Split(':');
            if (ulong.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode) && inode == id.Inode
                && uint.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint major) && major == id.Major
                && uint.TryParse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint minor) && minor == id.Minor)
                return true;
        }
        return false;
    }

    /// <summary>The file's device (major, minor) and inode, from stat(2): st_dev and st_ino lead struct stat on x86-64 and arm64.</summary>
    static (uint Major, uint Minor, ulong Inode)? Identity(string path)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (stat(path, ref MemoryMarshal.GetReference(buffer)) != 0) return null;
        ulong device = BitConverter.ToUInt64(buffer), inode = BitConverter.ToUInt64(buffer[8..]);
        // glibc's gnu_dev_major / gnu_dev_minor.
        uint major = (uint)(((device >> 32) & 0xfffff000) | ((device >> 8) & 0xfff));
        uint minor = (uint)(((device >> 12) & 0xffffff00) | (device & 0xff));
        return (major, minor, inode);
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int stat(string path, ref byte buffer);
}
