using System.Security.Cryptography;
using System.Text;
using TwinTrain.Data;

// AtomicWriter FILE WRITER TIMES: writes FILE TIMES times through AtomicFile, each version a header line naming the
// writer and the time, 64 KiB of bytes derived from them, and a SHA-256 of everything before it (so a reader can tell
// a whole version from a torn or mixed one). Prints "ok" after the last write; any exception exits 1 with its message.
if (args.Length != 3 || !int.TryParse(args[1], out int writer) || !int.TryParse(args[2], out int times))
{
    Console.Error.WriteLine("usage: AtomicWriter FILE WRITER TIMES");
    return 2;
}
try
{
    for (int i = 0; i < times; i++) AtomicFile.WriteAllBytes(args[0], Version(writer, i));
    Console.WriteLine("ok");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"writer {writer}: {e.GetType().Name}: {e.Message}");
    return 1;
}

static byte[] Version(int writer, int time)
{
    var body = new byte[65536 + 32];
    int header = Encoding.ASCII.GetBytes($"writer {writer} time {time}\n", body);
    for (int j = header; j < 65536; j++) body[j] = (byte)(writer * 31 + time * 7 + j);
    SHA256.HashData(body.AsSpan(0, 65536), body.AsSpan(65536));
    return body;
}
