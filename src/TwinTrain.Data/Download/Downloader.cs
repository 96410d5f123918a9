using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace TwinTrain.Data.Download;

/// <summary>Progress of a download: bytes on disk so far and the total, when the server says it.</summary>
public readonly record struct DownloadProgress(long Bytes, long? Total);

/// <summary>
/// Fetches one file of an official release (<see cref="Releases"/>). Bytes go to '&lt;file&gt;.part'; an interrupted download resumes
/// from there with an HTTP Range request (or restarts if the server does not support ranges). The file gets its
/// final name only after its MD5 matches. A server that stops sending for <see cref="IdleTimeout"/> ends the attempt
/// (the .part is kept for the next), and only http and https addresses are followed, redirects included.
/// </summary>
public sealed class Downloader(HttpClient http)
{
    /// <summary>How long to wait for the next bytes before giving up on a stalled connection.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A client for downloads: a connect timeout, redirects left to the downloader (which checks where they go), and
    /// no overall timeout (a slow but moving download of 162 MB may take long; <see cref="IdleTimeout"/> catches one
    /// that stopped).
    /// </summary>
    public static HttpClient CreateClient(TimeSpan? connectTimeout = null) => new(new SocketsHttpHandler
    {
        ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(30),
        AllowAutoRedirect = false,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    const int MaxRedirects = 5;

    public const string OfficialUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
    public const string OfficialMd5 = "c32a1d4ab5d03f1284b67883e8d87530";
    public const string FileName = "cifar-10-binary.tar.gz";

    /// <summary>Downloads <paramref name="url"/> into <paramref name="folder"/> as <paramref name="fileName"/> (default CIFAR-10's archive), or keeps a verified copy already there.</summary>
    public async Task<string> DownloadAsync(string folder, Uri url, string expectedMd5,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancel = default, string fileName = FileName)
    {
        if (url.Scheme is not ("http" or "https")) throw new HttpRequestException($"{url}: only http and https addresses are downloaded.");
        Directory.CreateDirectory(folder);
        string target = Path.Combine(folder, fileName);
        if (File.Exists(target) && await Md5Async(target, cancel) == expectedMd5) return target;

        string part = target + ".part";
        long existing = File.Exists(part) ? new FileInfo(part).Length : 0;
        using var response = await Get(url, existing, cancel);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The .part is already complete (or longer than the file): check it below as it is.
        }
        else
        {
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"{url}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            bool resumed = existing > 0 && response.StatusCode == HttpStatusCode.PartialContent;
            if (!resumed) existing = 0;
            long? total = response.Content.Headers.ContentLength + existing;

            await using var body = await response.Content.ReadAsStreamAsync(cancel);
            await using var file = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            var buffer = new byte[1 << 16];
            long written = existing;
            progress?.Report(new DownloadProgress(written, total));
            int read;
            while ((read = await WithIdleTimeout(url, token => body.ReadAsync(buffer, token).AsTask(), cancel)) > 0)
            {
                await file.WriteAsync(buffer.AsMemory(0, read), cancel);
                written += read;
                progress?.Report(new DownloadProgress(written, total));
            }
            if (total is long expected && written != expected)
                throw new IOException($"{url}: the connection ended after {written} of {expected} bytes; run the command again to resume.");
        }

        string actual = await Md5Async(part, cancel);
        if (actual != expectedMd5)
        {
            File.Delete(part);
            throw new InvalidDataException($"{part}: MD5 {actual} does not match the expected {expectedMd5}; the partial file was removed, run the command again.");
        }
        AtomicFile.Commit(part, target);
        return target;
    }

    /// <summary>GET with a Range from <paramref name="from"/> bytes, following up to 5 redirects, each to http or https only.</summary>
    async Task<HttpResponseMessage> Get(Uri url, long from, CancellationToken cancel)
    {
        var at = url;
        for (int redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, at);
            if (from > 0) request.Headers.Range = new RangeHeaderValue(from, null);
            var response = await WithIdleTimeout(url, token => http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token), cancel);
            if ((int)response.StatusCode is < 300 or >= 400 || response.StatusCode == HttpStatusCode.NotModified) return response;
            string location = response.Headers.TryGetValues("Location", out var values) ? values.First() : "";
            response.Dispose();
            if (!Uri.TryCreate(at, location, out var next) || next.Scheme is not ("http" or "https"))
                throw new HttpRequestException($"{url}: the server redirects to {(location.Length > 0 ? location : "nowhere")}, which is not an http or https address this download follows.");
            if (redirects == MaxRedirects) throw new HttpRequestException($"{url}: more than {MaxRedirects} redirects; not following them further.");
            at = next;
        }
    }

    /// <summary>Runs one network wait, turning <see cref="IdleTimeout"/> without progress into a clear error.</summary>
    async Task<T> WithIdleTimeout<T>(Uri url, Func<CancellationToken, Task<T>> wait, CancellationToken cancel)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        idle.CancelAfter(IdleTimeout);
        try
        {
            return await wait(idle.Token);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new IOException($"{url}: no data for {IdleTimeout.TotalSeconds:N0} s, the server stopped sending; run the command again to resume.");
        }
    }

    static async Task<string> Md5Async(string path, CancellationToken cancel)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await MD5.HashDataAsync(stream, cancel));
    }
}
