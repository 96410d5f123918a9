using System.Buffers.Binary;
using System.IO.Compression;
using TwinTrain.Data.Tests.Fixtures;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Data.Tests;

/// <summary>
/// MNIST and Fashion-MNIST in their IDX files, read as keras.datasets.fashion_mnist and torchvision's
/// read_image_file/read_label_file read them (torchvision/datasets/mnist.py: magic 0x0803 images, 0x0801 labels,
/// big-endian int32 sizes, then the bytes), and every way such a file can be wrong refused by name.
/// </summary>
public class IdxReaderTests
{
    /// <summary>Debian's dataset-fashion-mnist puts the official files here.</summary>
    const string DebianFashionMnist = "/usr/share/datasets/fashion-mnist";

    [Fact]
    public void Should_read_debians_fashion_mnist_as_60000_and_10000_images_of_28x28x1_in_10_balanced_classes()
    {
        if (!Directory.Exists(DebianFashionMnist))
            throw new DirectoryNotFoundException($"This test reads the real Fashion-MNIST from {DebianFashionMnist} (apt-get install dataset-fashion-mnist); it is missing.");
        var data = IdxReader.Read(DebianFashionMnist, DatasetInfo.FashionMnist);
        Assert.Equal((60_000, 10_000), (data.Train.Count, data.Test.Count));
        Assert.Equal(new ImageShape(28, 28, 1), data.Train.Shape);
        Assert.All(data.Train.CountPerClass(10), n => Assert.Equal(6_000, n));
        Assert.All(data.Test.CountPerClass(10), n => Assert.Equal(1_000, n));
        // Fashion-MNIST's first training image is an ankle boot (label 9), its first test image too (the dataset's README).
        Assert.Equal(9, data.Train.Labels[0]);
        Assert.Equal(9, data.Test.Labels[0]);
        double mean = data.Train.Pixels.Average(b => (double)b);
        Assert.InRange(mean, 70, 75); // 0.2860 x 255 = 72.9, the mean torchvision users normalise with
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_read_idx_files_gzipped_or_not_and_recognise_them_as_mnist(bool gzipped)
    {
        using var temp = new TempFolder();
        string folder = WriteRelease(temp["mnist"], Release(train: 5, test: 3), gzipped);
        var (data, report) = DatasetLoader.Load(folder, useCache: false);
        Assert.Equal(DatasetInfo.Mnist, data.Info);
        Assert.Equal(nameof(DataForm.Idx), report.Form);
        Assert.Equal((5, 3), (data.Train.Count, data.Test.Count));
        Assert.Equal(Image(2), data.Train.Image(2).ToArray());
        Assert.Equal(2, data.Train.Labels[2]);
        // Pointed at one of the files, the loader reads the four in its folder.
        string one = Path.Combine(folder, gzipped ? "t10k-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte");
        Assert.Equal(data.Test.Labels, DatasetLoader.Load(one, useCache: false).Data.Test.Labels);
    }

    [Fact]
    public void Should_refuse_a_file_present_twice_naming_both()
    {
        using var temp = new TempFolder();
        string folder = WriteRelease(temp["mnist"], Release(train: 5, test: 3), gzipped: true);
        WriteRelease(folder, Release(train: 5, test: 3).Where(f => f.Key.StartsWith("train-labels", StringComparison.Ordinal)).ToDictionary(), gzipped: false);
        var error = Assert.Throws<DataFormatException>(() => DatasetLoader.Load(folder, useCache: false));
        Assert.Contains($"{folder}: holds 'train-labels-idx1-ubyte' twice ({Path.Combine(folder, "train-labels-idx1-ubyte")} and {Path.Combine(folder, "train-labels-idx1-ubyte.gz")}); keep one.", error.Message);
    }

    [Fact]
    public void Should_read_idx_files_from_an_archive_named_after_mnist()
    {
        using var temp = new TempFolder();
        var files = Release(train: 5, test: 3).ToDictionary(f => $"fashion-mnist/{f.Key}", f => f.Value);
        string archive = CifarFixtures.WriteTarGz(temp["fashion-mnist.tar.gz"], files);
        var (data, report) = DatasetLoader.Load(archive, useCache: false);
        Assert.Equal(DatasetInfo.FashionMnist, data.Info);
        Assert.Equal(nameof(DataForm.Idx), report.Form);
        Assert.Equal(Image(4), data.Train.Image(4).ToArray());
    }

    [Fact]
    public void Should_recognise_fashion_mnist_by_its_folder_and_cache_it_apart_from_cifar10()
    {
        using var temp = new TempFolder();
        string folder = WriteRelease(temp["fashion-mnist"], Release(train: 4, test: 2), gzipped: true);
        var first = DatasetLoader.Load(folder, temp["cache"]);
        var second = DatasetLoader.Load(folder, temp["cache"]);
        Assert.Equal(DatasetInfo.FashionMnist, first.Data.Info);
        Assert.True(second.Report.FromCache);
        Assert.Equal(DatasetInfo.FashionMnist, second.Data.Info);
        Assert.Equal(first.Data.Train.Pixels, second.Data.Train.Pixels);
        Assert.StartsWith("fashion-mnist-", Path.GetFileName(second.Report.CacheNote));
        // Named as MNIST, the same files are another data set with its own cache.
        var asMnist = DatasetLoader.Load(folder, temp["cache"], dataset: DatasetInfo.Mnist);
        Assert.False(asMnist.Report.FromCache);
        Assert.Equal(DatasetInfo.Mnist, asMnist.Data.Info);
    }

    public static TheoryData<string, string, string> BadFiles => new()
    {
        { "wrong-magic", "train-images-idx3-ubyte", "not an IDX file of unsigned bytes (magic number 0x00000903; expected 0x00000803)" },
        { "wrong-dimensions", "train-labels-idx1-ubyte", "an IDX file of 2 dimensions; expected 1 (labels)" },
        { "size-disagrees", "t10k-images-idx3-ubyte", "the header gives 3 x 28 x 28 = 2,352 bytes of data, but the file holds 2,351; it is truncated or not what its header says" },
        { "counts-differ", "t10k-labels-idx1-ubyte", "2 labels for the 3 images of" },
        { "label-beyond-classes", "train-labels-idx1-ubyte", "label 10 at index 1; mnist has 10 classes (0..9)" },
        { "gzip-cut", "train-images-idx3-ubyte.gz", "the gzip data is truncated" },
        { "gzip-corrupt", "train-images-idx3-ubyte.gz", "the gzip data is corrupt or truncated" },
        { "missing", "", "'t10k-labels-idx1-ubyte' (or .gz) is missing" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Should_refuse_a_bad_idx_file_in_one_line_naming_it(string fault, string file, string expected)
    {
        using var temp = new TempFolder();
        var release = Release(train: 4, test: 3);
        bool gzipped = fault.StartsWith("gzip", StringComparison.Ordinal);
        switch (fault)
        {
            case "wrong-magic": release["train-images-idx3-ubyte"][2] = 0x09; break;
            case "wrong-dimensions": release["train-labels-idx1-ubyte"] = Idx([0, 1, 2, 3], 2, 2); break;
            case "size-disagrees": release["t10k-images-idx3-ubyte"] = release["t10k-images-idx3-ubyte"][..^1]; break;
            case "counts-differ": release["t10k-labels-idx1-ubyte"] = Idx([0, 1], 2); break;
            case "label-beyond-classes": release["train-labels-idx1-ubyte"] = Idx([0, 10, 2, 3], 4); break;
            case "missing": release.Remove("t10k-labels-idx1-ubyte"); break;
        }
        string folder = WriteRelease(temp["mnist"], release, gzipped);
        string images = Path.Combine(folder, "train-images-idx3-ubyte.gz");
        if (fault == "gzip-cut") File.WriteAllBytes(images, File.ReadAllBytes(images)[..^12]);
        if (fault == "gzip-corrupt")
        {
            var bytes = File.ReadAllBytes(images);
            bytes[^6] ^= 0xFF; // inside the CRC-32 trailer: the data inflates, the check fails
            File.WriteAllBytes(images, bytes);
        }

        var error = Assert.Throws<DataFormatException>(() => DatasetLoader.Load(folder, useCache: false));
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains(file == "" ? folder : Path.Combine(folder, file), error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Should_refuse_idx_files_named_as_cifar10_and_cifar10_named_as_fashion_mnist()
    {
        using var temp = new TempFolder();
        string idx = WriteRelease(temp["mnist"], Release(train: 2, test: 2), gzipped: false);
        var error = Assert.Throws<DataFormatException>(() => DatasetLoader.Load(idx, useCache: false, dataset: DatasetInfo.Cifar10));
        Assert.Equal($"{idx}: holds IDX files (MNIST or Fashion-MNIST), not CIFAR-10; say --dataset fashion-mnist or mnist.", error.Message);
        string cifar = CifarFixtures.WriteFolder(temp["cifar"], CifarFixtures.ImageFolder(1, 1));
        error = Assert.Throws<DataFormatException>(() => DatasetLoader.Load(cifar, useCache: false, dataset: DatasetInfo.FashionMnist));
        Assert.Contains("no IDX files", error.Message);
    }

    static byte[] Image(int index) => [.. Enumerable.Range(0, 28 * 28).Select(p => (byte)((p * 7 + index * 31) % 256))];

    static Dictionary<string, byte[]> Release(int train, int test)
    {
        var files = new Dictionary<string, byte[]>();
        foreach (var (split, count) in new[] { ("train", train), ("t10k", test) })
        {
            files[$"{split}-images-idx3-ubyte"] = Idx([.. Enumerable.Range(0, count).SelectMany(Image)], count, 28, 28);
            files[$"{split}-labels-idx1-ubyte"] = Idx([.. Enumerable.Range(0, count).Select(i => (byte)(i % 10))], count);
        }
        return files;
    }

    /// <summary>An IDX file of unsigned bytes, written as the format's description says (independently of the reader).</summary>
    static byte[] Idx(byte[] data, params int[] sizes)
    {
        var bytes = new byte[4 + 4 * sizes.Length + data.Length];
        bytes[2] = 0x08;
        bytes[3] = (byte)sizes.Length;
        for (int d = 0; d < sizes.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), sizes[d]);
        data.CopyTo(bytes, 4 + 4 * sizes.Length);
        return bytes;
    }

    static string WriteRelease(string folder, Dictionary<string, byte[]> files, bool gzipped)
    {
        Directory.CreateDirectory(folder);
        foreach (var (name, bytes) in files)
        {
            if (!gzipped)
            {
                File.WriteAllBytes(Path.Combine(folder, name), bytes);
                continue;
            }
            using var file = File.Create(Path.Combine(folder, name + ".gz"));
            using var gzip = new GZipStream(file, CompressionLevel.Optimal);
            gzip.Write(bytes);
        }
        return folder;
    }
}
