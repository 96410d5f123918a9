using TwinTrain.Tests.Shared;
using TwinTrain.Data.Tests.Fixtures;

namespace TwinTrain.Data.Tests;

public class DatasetCacheTests
{
    [Fact]
    public void Should_load_from_the_cache_the_second_time_with_identical_data()
    {
        using var temp = new TempFolder();
        string source = CifarFixtures.WriteTarGz(temp["data.tar.gz"], CifarFixtures.BinaryRelease(4));
        var (first, firstReport) = DatasetLoader.Load(source, temp["cache"]);
        var (second, secondReport) = DatasetLoader.Load(source, temp["cache"]);
        Assert.False(firstReport.FromCache);
        Assert.True(secondReport.FromCache);
        Assert.Equal(first.Train.Pixels, second.Train.Pixels);
        Assert.Equal(first.Train.Labels, second.Train.Labels);
        Assert.Equal(first.Test.Pixels, second.Test.Pixels);
        Assert.Equal(first.Test.Labels, second.Test.Labels);
    }

    [Fact]
    public void Should_rebuild_a_corrupt_cache()
    {
        using var temp = new TempFolder();
        string source = CifarFixtures.WriteTarGz(temp["data.tar.gz"], CifarFixtures.BinaryRelease(4));
        var (original, _) = DatasetLoader.Load(source, temp["cache"]);
        string cacheFile = new DatasetCache(temp["cache"]).PathFor(source, dataset: null);
        var bytes = File.ReadAllBytes(cacheFile);
        bytes[^100] ^= 0xFF;
        File.WriteAllBytes(cacheFile, bytes);

        var (reloaded, report) = DatasetLoader.Load(source, temp["cache"]);
        Assert.False(report.FromCache);
        Assert.Contains("checksum", report.CacheNote);
        Assert.Equal(original.Test.Pixels, reloaded.Test.Pixels);
        Assert.True(DatasetLoader.Load(source, temp["cache"]).Report.FromCache);
    }

    [Fact]
    public void Should_rebuild_a_cache_whose_header_counts_were_changed()
    {
        using var temp = new TempFolder();
        string source = CifarFixtures.WriteTarGz(temp["data.tar.gz"], CifarFixtures.BinaryRelease(4));
        DatasetLoader.Load(source, temp["cache"]);
        string cacheFile = new DatasetCache(temp["cache"]).PathFor(source, dataset: null);
        // 20 training and 4 test images become 16 and 8: the same total size, so only the checksum can tell.
        var bytes = File.ReadAllBytes(cacheFile);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), 16);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), 8);
        File.WriteAllBytes(cacheFile, bytes);

        var (data, report) = DatasetLoader.Load(source, temp["cache"]);
        Assert.False(report.FromCache);
        Assert.Contains("checksum", report.CacheNote);
        Assert.Equal((20, 4), (data.Train.Count, data.Test.Count));
    }

    [Fact]
    public void Should_rebuild_a_truncated_cache_and_a_stale_one()
    {
        using var temp = new TempFolder();
        string source = CifarFixtures.WriteTarGz(temp["data.tar.gz"], CifarFixtures.BinaryRelease(4));
        DatasetLoader.Load(source, temp["cache"]);
        string cacheFile = new DatasetCache(temp["cache"]).PathFor(source, dataset: null);
        File.WriteAllBytes(cacheFile, File.ReadAllBytes(cacheFile)[..1000]);
        Assert.Contains("wrong size", DatasetLoader.Load(source, temp["cache"]).Report.CacheNote);

        // The source changes (another release with more images): the cache must not be used.
        CifarFixtures.WriteTarGz(source, CifarFixtures.BinaryRelease(6));
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddMinutes(1));
        var (data, report) = DatasetLoader.Load(source, temp["cache"]);
        Assert.False(report.FromCache);
        Assert.Contains("source changed", report.CacheNote);
        Assert.Equal(30, data.Train.Count);
    }
}
