using System.Text;
using TwinTrain.Data.Tests.Fixtures;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Data.Tests;

/// <summary>
/// CIFAR-100 as keras.datasets.cifar100.load_data(label_mode) and torchvision.datasets.CIFAR100 read it: the python
/// release's pickled 'train' and 'test' with 'fine_labels' and 'coarse_labels' (keras/src/datasets/cifar100.py:
/// label_key = label_mode + "_labels"; torchvision/datasets/cifar.py: meta key 'fine_label_names'), and the binary
/// release, whose records hold the coarse label byte, then the fine one, then 3,072 pixel bytes (the release's
/// readme on the CIFAR page: "<1 x coarse label><1 x fine label><3072 x pixel>").
/// </summary>
public class Cifar100ReaderTests
{
    /// <summary>Image i of a split: fine label (7i + offset) mod 100, its coarse one fine mod 20 (the fixture's choice), known pixels.</summary>
    static (byte[] Fine, byte[] Coarse, byte[][] Planar) Split(int count, int offset)
    {
        var fine = Enumerable.Range(0, count).Select(i => (byte)((7 * i + offset) % 100)).ToArray();
        return (fine, [.. fine.Select(f => (byte)(f % 20))], [.. Enumerable.Range(0, count).Select(i => CifarFixtures.PlanarImage(offset + i))]);
    }

    static Dictionary<string, byte[]> PythonRelease(int train, int test, IReadOnlyList<string>? fineNames = null)
    {
        var (trainFine, trainCoarse, trainImages) = Split(train, 0);
        var (testFine, testCoarse, testImages) = Split(test, 50);
        return new Dictionary<string, byte[]>
        {
            ["cifar-100-python/train"] = PickleWriter.Cifar100Batch(trainFine, trainCoarse, trainImages, "training batch 1 of 1"),
            ["cifar-100-python/test"] = PickleWriter.Cifar100Batch(testFine, testCoarse, testImages, "testing batch 1 of 1"),
            ["cifar-100-python/meta"] = PickleWriter.Meta([("fine_label_names", fineNames ?? Cifar100Classes.Fine), ("coarse_label_names", Cifar100Classes.Coarse)]),
            ["cifar-100-python/file.txt~"] = "x"u8.ToArray(),
        };
    }

    static byte[] BinaryRecords(int count, int offset, int recordPadding = 0)
    {
        var (fine, coarse, planar) = Split(count, offset);
        using var stream = new MemoryStream();
        for (int i = 0; i < count; i++)
        {
            stream.WriteByte(coarse[i]);
            stream.WriteByte(fine[i]);
            stream.Write(planar[i]);
            stream.Write(new byte[recordPadding]);
        }
        return stream.ToArray();
    }

    static Dictionary<string, byte[]> BinaryRelease(int train, int test) => new()
    {
        ["cifar-100-binary/train.bin"] = BinaryRecords(train, 0),
        ["cifar-100-binary/test.bin"] = BinaryRecords(test, 50),
        ["cifar-100-binary/fine_label_names.txt"] = Encoding.ASCII.GetBytes(string.Join("\n", Cifar100Classes.Fine) + "\n"),
        ["cifar-100-binary/coarse_label_names.txt"] = Encoding.ASCII.GetBytes(string.Join("\n", Cifar100Classes.Coarse) + "\n"),
    };

    [Theory]
    [InlineData("python", false)]
    [InlineData("python", true)]
    [InlineData("binary", false)]
    [InlineData("binary", true)]
    public void Should_read_both_releases_with_fine_or_coarse_labels_as_folder_and_archive(string release, bool coarse)
    {
        using var temp = new TempFolder();
        var files = release == "python" ? PythonRelease(6, 4) : BinaryRelease(6, 4);
        string archive = CifarFixtures.WriteTarGz(temp[$"cifar-100-{release}.tar.gz"], files);
        string folder = Path.Combine(CifarFixtures.WriteFolder(temp["extracted"], files), $"cifar-100-{release}");
        var asked = coarse ? DatasetInfo.Cifar100Coarse : DatasetInfo.Cifar100;
        var (expectedFine, expectedCoarse, planar) = Split(6, 0);
        foreach (string source in new[] { archive, folder })
        {
            var (data, report) = DatasetLoader.Load(source, useCache: false, dataset: asked);
            Assert.Equal(asked, data.Info);
            Assert.Equal(release == "python" ? nameof(DataForm.OfficialPython) : nameof(DataForm.OfficialBinary), report.Form);
            Assert.Equal((6, 4), (data.Train.Count, data.Test.Count));
            Assert.Equal(coarse ? expectedCoarse : expectedFine, data.Train.Labels);
            Assert.Equal(CifarFixtures.Interleaved(planar[5]), data.Train.Image(5).ToArray());
            Assert.Equal(coarse ? 20 : 100, data.Info.Classes);
        }
        // Without --dataset the release is recognised (fine labels, as both libraries default to).
        Assert.Equal(DatasetInfo.Cifar100, DatasetLoader.Load(archive, useCache: false).Data.Info);
        Assert.Equal(DatasetInfo.Cifar100, DatasetLoader.Load(folder, useCache: false).Data.Info);
    }

    [Fact]
    public void Should_keep_fine_and_coarse_labels_in_separate_caches()
    {
        using var temp = new TempFolder();
        string archive = CifarFixtures.WriteTarGz(temp["cifar-100-python.tar.gz"], PythonRelease(6, 4));
        var fine = DatasetLoader.Load(archive, temp["cache"], dataset: DatasetInfo.Cifar100);
        var coarse = DatasetLoader.Load(archive, temp["cache"], dataset: DatasetInfo.Cifar100Coarse);
        var fineAgain = DatasetLoader.Load(archive, temp["cache"], dataset: DatasetInfo.Cifar100);
        Assert.False(coarse.Report.FromCache);
        Assert.True(fineAgain.Report.FromCache);
        Assert.Equal(DatasetInfo.Cifar100, fineAgain.Data.Info);
        Assert.Equal(fine.Data.Train.Labels, fineAgain.Data.Train.Labels);
        Assert.NotEqual(fine.Data.Train.Labels, coarse.Data.Train.Labels);
    }

    public static TheoryData<string, string, string> BadReleases => new()
    {
        // A CIFAR-10 record (3,073 bytes) where CIFAR-100's (3,074) is expected.
        { "binary", "record size", "train.bin: size 18438 bytes is not a whole number of 3074-byte records (5 records and 3068 bytes left over); the file is truncated or not a CIFAR-100 binary batch" },
        { "binary", "fine label", "test.bin: record 0 has label 100, outside 0..99" },
        { "binary", "missing", "'test.bin' is missing; the CIFAR-100 binary release has train.bin and test.bin" },
        { "python", "names", "meta: label 3 is named 'bears'; CIFAR-100's is 'bear'" },
        { "python", "no meta", "'meta' is missing; the CIFAR-100 python release has train, test and meta" },
        { "python", "both", "holds both CIFAR-100 releases" },
    };

    [Theory]
    [MemberData(nameof(BadReleases))]
    public void Should_refuse_a_bad_release_in_one_line_naming_the_file(string release, string fault, string expected)
    {
        using var temp = new TempFolder();
        var files = release == "python" ? PythonRelease(6, 4) : BinaryRelease(6, 4);
        switch (fault)
        {
            case "record size": files["cifar-100-binary/train.bin"] = new byte[6 * 3073]; break;
            case "fine label":
                var test = files["cifar-100-binary/test.bin"];
                test[1] = 100;
                break;
            case "missing": files.Remove("cifar-100-binary/test.bin"); break;
            case "names":
                var names = Cifar100Classes.Fine.ToArray();
                names[3] = "bears";
                files = PythonRelease(6, 4, names);
                break;
            case "no meta": files.Remove("cifar-100-python/meta"); break;
            case "both": files["cifar-100-python/train.bin"] = BinaryRecords(6, 0); break;
        }
        string folder = CifarFixtures.WriteFolder(temp["cifar-100"], files);
        var error = Assert.Throws<DataFormatException>(() => DatasetLoader.Load(folder, useCache: false, dataset: DatasetInfo.Cifar100));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith(temp.Path, error.Message);
    }
}
