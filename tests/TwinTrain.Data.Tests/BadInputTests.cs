using TwinTrain.Tests.Shared;
using TwinTrain.Data.Tests.Fixtures;

namespace TwinTrain.Data.Tests;

/// <summary>Every bad input gives a <see cref="DataFormatException"/> that names the file and says what is wrong.</summary>
public class BadInputTests
{
    static DataFormatException ReadFails(string path) => Assert.Throws<DataFormatException>(() => CifarReader.Read(path));

    [Fact]
    public void Should_reject_a_truncated_binary_batch()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.BinaryRelease(3);
        files["cifar-10-batches-bin/data_batch_2.bin"] = files["cifar-10-batches-bin/data_batch_2.bin"][..5000];
        var error = ReadFails(CifarFixtures.WriteFolder(temp.Path, files));
        Assert.Contains("data_batch_2.bin", error.Message);
        Assert.Contains("3073-byte records", error.Message);
    }

    [Fact]
    public void Should_reject_a_binary_label_out_of_range()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.BinaryRelease(3);
        files["cifar-10-batches-bin/test_batch.bin"][3073] = 10;
        var error = ReadFails(CifarFixtures.WriteFolder(temp.Path, files));
        Assert.Contains("test_batch.bin", error.Message);
        Assert.Contains("record 1 has label 10", error.Message);
    }

    [Fact]
    public void Should_reject_a_missing_batch()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.BinaryRelease(2);
        files.Remove("cifar-10-batches-bin/data_batch_4.bin");
        Assert.Contains("'data_batch_4.bin' is missing", ReadFails(CifarFixtures.WriteFolder(temp.Path, files)).Message);
    }

    [Fact]
    public void Should_reject_a_python_label_out_of_range_and_a_truncated_pickle()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.PythonRelease(2);
        var (labels, images) = CifarFixtures.Batch(3, 2);
        files["cifar-10-batches-py/data_batch_3"] = PickleWriter.CifarBatch(labels, images, "x", labelOverride: 12);
        var error = ReadFails(CifarFixtures.WriteFolder(temp["a"], files));
        Assert.Contains("data_batch_3", error.Message);
        Assert.Contains("label 12", error.Message);

        files = CifarFixtures.PythonRelease(2);
        files["cifar-10-batches-py/test_batch"] = files["cifar-10-batches-py/test_batch"][..4000];
        error = ReadFails(CifarFixtures.WriteFolder(temp["b"], files));
        Assert.Contains("test_batch", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Should_reject_an_image_that_is_not_32x32()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.ImageFolder(1, 1);
        files["cifar10/train/cat/0000.png"] = CifarFixtures.Png(new byte[40 * 30 * 3], 40, 30);
        var error = ReadFails(CifarFixtures.WriteFolder(temp.Path, files));
        Assert.Contains("train/cat/0000.png", error.Message);
        Assert.Contains("40x30", error.Message);
    }

    [Fact]
    public void Should_reject_a_corrupt_jpeg()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.ImageFolder(1, 1);
        files["cifar10/test/dog/0000.jpg"] = "\xFF\xD8\xFF\xE0 this is not really a jpeg"u8.ToArray();
        files.Remove("cifar10/test/dog/0000.png");
        var error = ReadFails(CifarFixtures.WriteFolder(temp.Path, files));
        Assert.Contains("test/dog/0000.jpg", error.Message);
        Assert.Contains("cannot decode", error.Message);
    }

    [Fact]
    public void Should_reject_an_unknown_class_folder()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.ImageFolder(1, 1);
        files["cifar10/train/unicorn/0000.png"] = files["cifar10/train/cat/0000.png"];
        var error = ReadFails(CifarFixtures.WriteFolder(temp.Path, files));
        Assert.Contains("unknown class folder 'unicorn'", error.Message);
    }

    [Fact]
    public void Should_reject_an_empty_split()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.ImageFolder(1, 1).Where(f => !f.Key.Contains("/test/")).ToDictionary();
        var error = ReadFails(CifarFixtures.WriteFolder(temp.Path, files));
        Assert.Contains("'test' split has no images", error.Message);
    }

    [Fact]
    public void Should_reject_path_traversal_entries_in_a_tar()
    {
        using var temp = new TempFolder();
        foreach (string evil in new[] { "../escape/train/cat/0000.png", "/etc/train/cat/0000.png", "data/../../x.bin" })
        {
            var files = CifarFixtures.ImageFolder(1, 1);
            files[evil] = files["cifar10/train/cat/0000.png"];
            string archive = CifarFixtures.WriteTarGz(temp["evil.tar.gz"], files);
            var error = ReadFails(archive);
            Assert.Contains("evil.tar.gz", error.Message);
            Assert.Contains("points outside the archive", error.Message);
        }
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "..", "escape")));
    }

    [Fact]
    public void Should_reject_a_truncated_archive()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(20));
        File.WriteAllBytes(temp["cut.tar.gz"], archive[..(archive.Length / 2)]);
        var error = ReadFails(temp["cut.tar.gz"]);
        Assert.Contains("cut.tar.gz", error.Message);
        Assert.Contains("truncated or corrupt", error.Message);
    }

    [Fact]
    public void Should_say_when_nothing_looks_like_cifar()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp["notes.txt"], "hello");
        Assert.Contains("no CIFAR-10 found", ReadFails(temp.Path).Message);
    }

    [Fact]
    public void Should_point_to_download_when_the_path_is_missing()
    {
        var error = Assert.Throws<FileNotFoundException>(() => DatasetLoader.Load("/nonexistent/cifar", useCache: false));
        Assert.Contains("twintrain download", error.Message);
    }
}
