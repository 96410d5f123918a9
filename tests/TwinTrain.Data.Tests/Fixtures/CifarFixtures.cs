using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using StbImageWriteSharp;
using TwinTrain.Data;

namespace TwinTrain.Data.Tests.Fixtures;

/// <summary>Small CIFAR-10 datasets written by the tests in the official formats, with known pixels and labels.</summary>
public static class CifarFixtures
{
    /// <summary>A deterministic image: every byte depends on (seed, position), CHW planar as in the releases.</summary>
    public static byte[] PlanarImage(int seed)
    {
        var planar = new byte[CifarClasses.PixelsPerImage];
        for (int i = 0; i < planar.Length; i++) planar[i] = (byte)((i * 7 + seed * 13 + i / 1024 * 31) & 0xFF);
        return planar;
    }

    public static byte[] Interleaved(byte[] planar)
    {
        var rgb = new byte[planar.Length];
        for (int p = 0; p < 1024; p++)
        {
            rgb[3 * p] = planar[p];
            rgb[3 * p + 1] = planar[1024 + p];
            rgb[3 * p + 2] = planar[2048 + p];
        }
        return rgb;
    }

    /// <summary>Labels and images for one batch: image seeds are batch * 100 + index, labels cycle from the batch number.</summary>
    public static (byte[] Labels, byte[][] Planar) Batch(int batch, int count)
    {
        var labels = new byte[count];
        var images = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (byte)((batch + i) % 10);
            images[i] = PlanarImage(batch * 100 + i);
        }
        return (labels, images);
    }

    public static byte[] BinaryBatchBytes(byte[] labels, byte[][] planar)
    {
        using var stream = new MemoryStream();
        for (int i = 0; i < labels.Length; i++)
        {
            stream.WriteByte(labels[i]);
            stream.Write(planar[i]);
        }
        return stream.ToArray();
    }

    static readonly string[] BatchNames = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"];

    /// <summary>The official binary release layout: cifar-10-batches-bin/*.bin plus batches.meta.txt.</summary>
    public static Dictionary<string, byte[]> BinaryRelease(int perBatch)
    {
        var files = new Dictionary<string, byte[]>();
        for (int b = 0; b < BatchNames.Length; b++)
        {
            var (labels, images) = Batch(b + 1, perBatch);
            files[$"cifar-10-batches-bin/{BatchNames[b]}.bin"] = BinaryBatchBytes(labels, images);
        }
        files["cifar-10-batches-bin/batches.meta.txt"] = Encoding.ASCII.GetBytes(string.Join("\n", CifarClasses.Names) + "\n\n");
        return files;
    }

    /// <summary>The official python release layout: cifar-10-batches-py/ with pickled batches.</summary>
    public static Dictionary<string, byte[]> PythonRelease(int perBatch, bool python3Bytes = false)
    {
        var files = new Dictionary<string, byte[]>();
        for (int b = 0; b < BatchNames.Length; b++)
        {
            var (labels, images) = Batch(b + 1, perBatch);
            files[$"cifar-10-batches-py/{BatchNames[b]}"] = PickleWriter.CifarBatch(labels, images, $"batch {b + 1}", python3Bytes: python3Bytes);
        }
        files["cifar-10-batches-py/readme.html"] = "<html></html>"u8.ToArray();
        return files;
    }

    /// <summary>An image folder dataset of PNGs (lossless, so pixels can be compared exactly).</summary>
    public static Dictionary<string, byte[]> ImageFolder(int perClassTrain, int perClassTest, string root = "cifar10")
    {
        var files = new Dictionary<string, byte[]>();
        foreach (var (split, count) in new[] { ("train", perClassTrain), ("test", perClassTest) })
        {
            for (int c = 0; c < 10; c++)
            {
                for (int i = 0; i < count; i++)
                    files[$"{root}/{split}/{CifarClasses.Names[c]}/{i:D4}.png"] = Png(Interleaved(PlanarImage(c * 10 + i + (split == "test" ? 500 : 0))), 32, 32);
            }
        }
        return files;
    }

    public static byte[] Png(byte[] rgb, int width, int height)
    {
        using var stream = new MemoryStream();
        new ImageWriter().WritePng(rgb, width, height, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream);
        return stream.ToArray();
    }

    public static byte[] Jpeg(byte[] rgb, int width, int height)
    {
        using var stream = new MemoryStream();
        new ImageWriter().WriteJpg(rgb, width, height, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream, 95);
        return stream.ToArray();
    }

    public static string WriteFolder(string root, Dictionary<string, byte[]> files)
    {
        foreach (var (name, bytes) in files)
        {
            string path = Path.Combine(root, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }
        return root;
    }

    public static byte[] TarGz(Dictionary<string, byte[]> files)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (name, bytes) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) };
                tar.WriteEntry(entry);
            }
        }
        return output.ToArray();
    }

    public static string WriteTarGz(string path, Dictionary<string, byte[]> files)
    {
        File.WriteAllBytes(path, TarGz(files));
        return path;
    }
}
