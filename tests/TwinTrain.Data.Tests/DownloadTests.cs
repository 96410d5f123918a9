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

        string path = await new CifarDownloader(new HttpClient()).DownloadAsync(
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
        File.WriteAllBytes(Path.Combine(temp.Path, CifarDownloader.FileName + ".part"), archive[..(archive.Length / 3)]);
        using var server = new LoopbackServer(archive, supportRanges: true);

        string path = await new CifarDownloader(new HttpClient()).DownloadAsync(temp.Path, server.Url, Md5(archive));

        Assert.Equal(archive, File.ReadAllBytes(path));
        Assert.Equal($"bytes={archive.Length / 3}-", server.LastRange);
        Assert.Equal(archive.Length - archive.Length / 3, server.BytesSent);
    }

    [Fact]
    public async Task Should_restart_when_the_server_ignores_ranges()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(3));
        File.WriteAllBytes(Path.Combine(temp.Path, CifarDownloader.FileName + ".part"), new byte[100]);
        using var server = new LoopbackServer(archive, supportRanges: false);

        string path = await new CifarDownloader(new HttpClient()).DownloadAsync(temp.Path, server.Url, Md5(archive));
        Assert.Equal(archive, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Should_reject_a_file_whose_md5_does_not_match()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(3));
        using var server = new LoopbackServer(archive, supportRanges: true);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            new CifarDownloader(new HttpClient()).DownloadAsync(temp.Path, server.Url, CifarDownloader.OfficialMd5));
        Assert.Contains("does not match", error.Message);
        Assert.False(File.Exists(Path.Combine(temp.Path, CifarDownloader.FileName)));
        Assert.False(File.Exists(Path.Combine(temp.Path, CifarDownloader.FileName + ".part")));
    }

    [Fact]
    public async Task Should_report_a_connection_cut_short_and_keep_the_part_for_resuming()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(3));
        using var server = new LoopbackServer(archive, supportRanges: true, cutAfter: archive.Length / 2);

        await Assert.ThrowsAnyAsync<IOException>(() =>
            new CifarDownloader(new HttpClient()).DownloadAsync(temp.Path, server.Url, Md5(archive)));
        string part = Path.Combine(temp.Path, CifarDownloader.FileName + ".part");
        Assert.Equal(archive.Length / 2, new FileInfo(part).Length);

        using var healthy = new LoopbackServer(archive, supportRanges: true);
        string path = await new CifarDownloader(new HttpClient()).DownloadAsync(temp.Path, healthy.Url, Md5(archive));
        Assert.Equal(archive, File.ReadAllBytes(path));
    }

    static string Md5(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));

    sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }

    /// <summary>Serves one file on 127.0.0.1 with optional Range support, or cuts the connection after N bytes.</summary>
    sealed class LoopbackServer : IDisposable
    {
        readonly HttpListener _listener = new();
        readonly byte[] _content;
        readonly bool _ranges;
        readonly int? _cutAfter;
        readonly Task _loop;

        public LoopbackServer(byte[] content, bool supportRanges, int? cutAfter = null)
        {
            _content = content;
            _ranges = supportRanges;
            _cutAfter = cutAfter;
            int port = FreePort();
            Url = new Uri($"http://127.0.0.1:{port}/cifar-10-binary.tar.gz");
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _loop = Task.Run(Serve);
        }

        public Uri Url { get; }
        public string? LastRange { get; private set; }
        public long BytesSent { get; private set; }

        static int FreePort()
        {
            var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return port;
        }

        async Task Serve()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception) { return; }
                var response = context.Response;
                LastRange = context.Request.Headers["Range"];
                long start = 0;
                if (_ranges && LastRange is { } range && range.StartsWith("bytes="))
                {
                    start = long.Parse(range[6..].TrimEnd('-'));
                    response.StatusCode = 206;
                    response.Headers["Content-Range"] = $"bytes {start}-{_content.Length - 1}/{_content.Length}";
                }
                response.ContentLength64 = _content.Length - start;
                int end = _cutAfter ?? _content.Length;
                try
                {
                    await response.OutputStream.WriteAsync(_content.AsMemory((int)start, end - (int)start));
                    BytesSent += end - start;
                    if (_cutAfter is not null) { response.Abort(); continue; }
                    response.Close();
                }
                catch (Exception) { }
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }
}
