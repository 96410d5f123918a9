using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using TwinTrain.Data;

namespace TwinTrain.Frameworks.PyTorch;

/// <summary>
/// The files a worker reads: each data set's decoded pixels and labels as .npy (written once per process and set,
/// with their SHA-256, so the worker gets exactly the bytes the other frameworks get), and initial weights. They live
/// in this process's own folder under the temp path (its PID in the name), removed at exit; a folder whose process
/// has ended is removed by the next TwinTrain that starts a worker.
/// </summary>
public static class WorkerFiles
{
    public sealed record Split(string Images, string ImagesSha256, string Labels, string LabelsSha256);

    const string Prefix = "twintrain-worker-";
    static readonly Lock Gate = new();
    static readonly ConditionalWeakTable<ImageSet, Split> Written = [];
    static string? _folder;
    static long _files;

    /// <summary>This process's folder for worker files, created on first use.</summary>
    public static string Folder
    {
        get
        {
            lock (Gate)
            {
                if (_folder is not null) return _folder;
                RemoveEnded();
                _folder = Path.Combine(Path.GetTempPath(), $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}");
                Directory.CreateDirectory(_folder);
                AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } };
                return _folder;
            }
        }
    }

    /// <summary>A new file name in <see cref="Folder"/>, never used twice in this process.</summary>
    public static string NewFile(string extension) => Path.Combine(Folder, $"{Interlocked.Increment(ref _files)}{extension}");

    /// <summary>The set as uint8 (N, H, W, C) and (N,) .npy files, written on first use.</summary>
    public static Split Of(ImageSet set)
    {
        lock (Gate)
        {
            if (Written.TryGetValue(set, out var split)) return split;
            string images = NewFile(".images.npy"), labels = NewFile(".labels.npy");
            string imagesSha = WriteNpy(images, set.Pixels, [set.Count, set.Shape.Height, set.Shape.Width, set.Shape.Channels]);
            string labelsSha = WriteNpy(labels, set.Labels, [set.Count]);
            split = new Split(images, imagesSha, labels, labelsSha);
            Written.Add(set, split);
            return split;
        }
    }

    /// <summary>Writes bytes as a uint8 .npy file (format 1.0: magic, header dict padded to 64 bytes, C-order data); returns its SHA-256.</summary>
    public static string WriteNpy(string path, byte[] data, int[] shape)
    {
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string header = $"{{'descr': '|u1', 'fortran_order': False, 'shape': ({dims}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AtomicFile.Write(path, stream =>
        {
            byte[] prefix = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length & 0xFF), (byte)(header.Length >> 8)];
            byte[] text = Encoding.ASCII.GetBytes(header);
            foreach (var part in new[] { prefix, text, data })
            {
                stream.Write(part);
                sha.AppendData(part);
            }
        });
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Removes the folders of TwinTrain processes that have ended (killed before their exit handler ran).</summary>
    static void RemoveEnded()
    {
        try
        {
            foreach (string folder in Directory.GetDirectories(Path.GetTempPath(), Prefix + "*"))
            {
                string rest = Path.GetFileName(folder)[Prefix.Length..];
                if (int.TryParse(rest.Split('-')[0], out int pid) && pid != Environment.ProcessId && !AtomicFile.IsRunning(pid))
                    Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
