using TwinTrain.Tests.Shared;
using TwinTrain.Data.Tests.Fixtures;

namespace TwinTrain.Data.Tests;

public class CifarReaderTests
{
    const int PerBatch = 7;

    static void AssertMatchesBatches(Dataset data)
    {
        Assert.Equal(5 * PerBatch, data.Train.Count);
        Assert.Equal(PerBatch, data.Test.Count);
        for (int b = 1; b <= 5; b++)
        {
            var (labels, images) = CifarFixtures.Batch(b, PerBatch);
            for (int i = 0; i < PerBatch; i++)
            {
                int index = (b - 1) * PerBatch + i;
                Assert.Equal(labels[i], data.Train.Labels[index]);
                Assert.Equal(CifarFixtures.Interleaved(images[i]), data.Train.Image(index).ToArray());
            }
        }
        var (testLabels, testImages) = CifarFixtures.Batch(6, PerBatch);
        Assert.Equal(testLabels, data.Test.Labels);
        Assert.Equal(CifarFixtures.Interleaved(testImages[3]), data.Test.Image(3).ToArray());
    }

    [Fact]
    public void Should_read_the_official_binary_release_as_a_folder()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteFolder(temp.Path, CifarFixtures.BinaryRelease(PerBatch));
        var (data, form) = CifarReader.Read(temp["cifar-10-batches-bin"]);
        Assert.Equal(DataForm.OfficialBinary, form);
        AssertMatchesBatches(data);
    }

    [Fact]
    public void Should_read_the_official_binary_release_as_a_tar_gz()
    {
        using var temp = new TempFolder();
        string archive = CifarFixtures.WriteTarGz(temp["cifar-10-binary.tar.gz"], CifarFixtures.BinaryRelease(PerBatch));
        var (data, form) = CifarReader.Read(archive);
        Assert.Equal(DataForm.OfficialBinary, form);
        AssertMatchesBatches(data);
    }

    [Fact]
    public void Should_read_the_official_python_release_as_a_folder_and_a_tar_gz()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.PythonRelease(PerBatch);
        CifarFixtures.WriteFolder(temp.Path, files);
        var (fromFolder, form) = CifarReader.Read(temp["cifar-10-batches-py"]);
        Assert.Equal(DataForm.OfficialPython, form);
        AssertMatchesBatches(fromFolder);

        var (fromArchive, _) = CifarReader.Read(CifarFixtures.WriteTarGz(temp["cifar-10-python.tar.gz"], files));
        AssertMatchesBatches(fromArchive);
    }

    [Fact]
    public void Should_read_python_batches_re_pickled_by_python_3()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteFolder(temp.Path, CifarFixtures.PythonRelease(PerBatch, python3Bytes: true));
        var (data, form) = CifarReader.Read(temp["cifar-10-batches-py"]);
        Assert.Equal(DataForm.OfficialPython, form);
        AssertMatchesBatches(data);
    }

    [Fact]
    public void Should_read_an_image_folder_as_a_folder_and_a_tar_gz_in_class_then_name_order()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.ImageFolder(perClassTrain: 3, perClassTest: 2);
        CifarFixtures.WriteFolder(temp["data"], files);
        // Archive entries in reverse order: the result must not depend on the order of the archive.
        var reversed = files.Reverse().ToDictionary();
        string archive = CifarFixtures.WriteTarGz(temp["images.tar.gz"], reversed);

        foreach (string source in new[] { temp["data"], archive })
        {
            var (data, form) = CifarReader.Read(source);
            Assert.Equal(DataForm.ImageFolder, form);
            Assert.Equal(30, data.Train.Count);
            Assert.Equal(20, data.Test.Count);
            Assert.All(data.Train.CountPerClass(10), n => Assert.Equal(3, n));
            Assert.Equal(4, data.Train.Labels[13]); // class 4 ("deer"), its second image
            Assert.Equal(CifarFixtures.Interleaved(CifarFixtures.PlanarImage(4 * 10 + 1)), data.Train.Image(13).ToArray());
            Assert.Equal(CifarFixtures.Interleaved(CifarFixtures.PlanarImage(9 * 10 + 1 + 500)), data.Test.Image(19).ToArray());
        }
    }

    [Fact]
    public void Should_read_jpeg_images_within_jpeg_error()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.ImageFolder(1, 1).ToDictionary(
            f => Path.ChangeExtension(f.Key, ".jpg"),
            f => f.Key.Contains("/train/") ? CifarFixtures.Jpeg(new byte[3072].Select((_, i) => (byte)(100 + i % 3 * 20)).ToArray(), 32, 32) : f.Value);
        var (data, _) = CifarReader.Read(CifarFixtures.WriteFolder(temp.Path, files));
        var pixel = data.Train.Image(0);
        Assert.InRange(pixel[0], 95, 105);
        Assert.InRange(pixel[1], 115, 125);
        Assert.InRange(pixel[2], 135, 145);
    }
}
