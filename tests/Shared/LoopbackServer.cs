using System.Net;

namespace TwinTrain.Tests.Shared;

/// <summary>
/// Serves one file on 127.0.0.1 with optional Range support, or cuts the connection after N bytes, or stops sending
/// after N bytes (keeping the connection open), or answers every request with a redirect; or serves several files by
/// name under its <see cref="Url"/> (404 for any other).
/// </summary>
public sealed class LoopbackServer : IDisposable
{
    readonly HttpListener _listener = new();
    readonly byte[] _content;
    readonly IReadOnlyDictionary<string, byte[]>? _files;
    readonly bool _ranges;
    readonly int? _cutAfter;
    readonly Task _loop;

    readonly int? _stallAfter;
    readonly string? _redirectTo;
    readonly CancellationTokenSource _stop = new();

    public LoopbackServer(byte[] content, bool supportRanges, int? cutAfter = null, int? stallAfter = null, string? redirectTo = null)
    {
        _content = content;
        _ranges = supportRanges;
        _cutAfter = cutAfter;
        _stallAfter = stallAfter;
        _redirectTo = redirectTo;
        int port = FreePort();
        Url = new Uri($"http://127.0.0.1:{port}/cifar-10-binary.tar.gz");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    /// <summary>Serves each file at its name under <see cref="Url"/>, with ranges.</summary>
    public LoopbackServer(IReadOnlyDictionary<string, byte[]> files) : this([], supportRanges: true)
    {
        _files = files;
        Url = new Uri(Url, "./");
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
            if (_redirectTo is not null)
            {
                response.StatusCode = 302;
                response.RedirectLocation = _redirectTo;
                response.Close();
                continue;
            }
            var content = _content;
            if (_files is not null && !_files.TryGetValue(context.Request.Url!.Segments[^1], out content!))
            {
                response.StatusCode = 404;
                response.Close();
                continue;
            }
            LastRange = context.Request.Headers["Range"];
            long start = 0;
            if (_ranges && LastRange is { } range && range.StartsWith("bytes="))
            {
                start = long.Parse(range[6..].TrimEnd('-'));
                response.StatusCode = 206;
                response.Headers["Content-Range"] = $"bytes {start}-{content.Length - 1}/{content.Length}";
            }
            response.ContentLength64 = content.Length - start;
            int end = _cutAfter ?? _stallAfter ?? content.Length;
            try
            {
                await response.OutputStream.WriteAsync(content.AsMemory((int)start, end - (int)start));
                BytesSent += end - start;
                if (_cutAfter is not null) { response.Abort(); continue; }
                if (_stallAfter is not null)
                {
                    await response.OutputStream.FlushAsync();
                    try { await Task.Delay(Timeout.Infinite, _stop.Token); } // silent, the connection open, until disposed
                    catch (OperationCanceledException) { }
                    response.Abort();
                    continue;
                }
                response.Close();
            }
            catch (Exception) { }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
