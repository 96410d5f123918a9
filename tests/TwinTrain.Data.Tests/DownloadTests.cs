using TwinTrain.Tests.Shared;
using System.Net;
using System.Security.Cryptography;
using TwinTrain.Data.Download;
using TwinTrain.Data.Tests.Fixtures;

namespace TwinTrain.Data.Tests;

/// <summary>The downloader against an HTTP server on 127.0.0.1 that serves a small archive made by the test.</summary>
public class DownloadTests
{
    [Fact]
    public async Task Should_download_verify_and_rename_atomically()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(3));
        using var server = new LoopbackServer(archive, supportRanges: true);
        var progress = new List<DownloadProgress>();

        string path = await new Downloader(new HttpClient()).DownloadAsync(
            temp.Path, server.Url, Md5(archive), new SyncProgress(progress.Add));

        Assert.Equal(archive, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".part"));
        Assert.Equal(archive.Length, progress[^1].Bytes);
        Assert.Equal(archive.Length, progress[^1].Total);
        Assert.Equal(5 * 3, CifarReader.Read(path).Data.Train.Count);
    }

    [Fact]
    public async Task Should_resume_an_interrupted_download_with_a_range_request()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(3));
        File.WriteAllBytes(Path.Combine(temp.Path, Downloader.FileName + ".part"), archive[..(archive.Length / 3)]);
        using var server = new LoopbackServer(archive, supportRanges: true);

        string path = await new Downloader(new HttpClient()).DownloadAsync(temp.Path, server.Url, Md5(archive));

        Assert.Equal(archive, File.ReadAllBytes(path));
        Assert.Equal($"bytes={archive.Length / 3}-", server.LastRange);
        Assert.Equal(archive.Length - archive.Length / 3, server.BytesSent);
    }

    [Fact]
    public async Task Should_restart_when_the_server_ignores_ranges()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(3));
        File.WriteAllBytes(Path.Combine(temp.Path, Downloader.FileName + ".part"), new byte[100]);
        using var server = new LoopbackServer(archive, supportRanges: false);

        string path = await new Downloader(new HttpClient()).DownloadAsync(temp.Path, server.Url, Md5(archive));
        Assert.Equal(archive, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Should_reject_a_file_whose_md5_does_not_match()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(3));
        using var server = new LoopbackServer(archive, supportRanges: true);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            new Downloader(new HttpClient()).DownloadAsync(temp.Path, server.Url, Downloader.OfficialMd5));
        Assert.Contains("does not match", error.Message);
        Assert.False(File.Exists(Path.Combine(temp.Path, Downloader.FileName)));
        Assert.False(File.Exists(Path.Combine(temp.Path, Downloader.FileName + ".part")));
    }

    [Fact]
    public async Task Should_report_a_connection_cut_short_and_keep_the_part_for_resuming()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(3));
        using var server = new LoopbackServer(archive, supportRanges: true, cutAfter: archive.Length / 2);

        await Assert.ThrowsAnyAsync<IOException>(() =>
            new Downloader(new HttpClient()).DownloadAsync(temp.Path, server.Url, Md5(archive)));
        string part = Path.Combine(temp.Path, Downloader.FileName + ".part");
        Assert.Equal(archive.Length / 2, new FileInfo(part).Length);

        using var healthy = new LoopbackServer(archive, supportRanges: true);
        string path = await new Downloader(new HttpClient()).DownloadAsync(temp.Path, healthy.Url, Md5(archive));
        Assert.Equal(archive, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Should_give_up_on_a_server_that_stops_sending_and_keep_the_part()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(3));
        using var server = new LoopbackServer(archive, supportRanges: true, stallAfter: archive.Length / 2);
        var downloader = new Downloader(Downloader.CreateClient()) { IdleTimeout = TimeSpan.FromSeconds(1) };
        var error = await Assert.ThrowsAsync<IOException>(() => downloader.DownloadAsync(temp.Path, server.Url, Md5(archive)));
        Assert.Contains("no data for 1 s, the server stopped sending", error.Message);
        Assert.Equal(archive.Length / 2, new FileInfo(Path.Combine(temp.Path, Downloader.FileName + ".part")).Length);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://127.0.0.1/cifar.tar.gz")]
    public async Task Should_not_follow_a_redirect_to_anything_but_http(string target)
    {
        using var temp = new TempFolder();
        using var server = new LoopbackServer([], supportRanges: false, redirectTo: target);
        var error = await Assert.ThrowsAsync<HttpRequestException>(() =>
            new Downloader(Downloader.CreateClient()).DownloadAsync(temp.Path, server.Url, "00"));
        Assert.Contains($"the server redirects to {target}, which is not an http or https address", error.Message);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    static string Md5(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));

    sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
