using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace TwinTrain.Data.Download;

/// <summary>Progress of a download: bytes on disk so far and the total, when the server says it.</summary>
public readonly record struct DownloadProgress(long Bytes, long? Total);

/// <summary>
/// Fetches the official CIFAR-10 binary release. Bytes go to '&lt;file&gt;.part'; an interrupted download resumes
/// from there with an HTTP Range request (or restarts if the server does not support ranges). The file gets its
/// final name only after its MD5 matches.
/// </summary>
public sealed class CifarDownloader(HttpClient http)
{
    public const string OfficialUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
    public const string OfficialMd5 = "c32a1d4ab5d03f1284b67883e8d87530";
    public const string FileName = "cifar-10-binary.tar.gz";

    public async Task<string> DownloadAsync(string folder, Uri url, string expectedMd5,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(folder);
        string target = Path.Combine(folder, FileName);
        if (File.Exists(target) && await Md5Async(target, cancel) == expectedMd5) return target;

        string part = target + ".part";
        long existing = File.Exists(part) ? new FileInfo(part).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (existing > 0) request.Headers.Range = new RangeHeaderValue(existing, null);

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
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
            while ((read = await body.ReadAsync(buffer, cancel)) > 0)
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
        File.Move(part, target, overwrite: true);
        return target;
    }

    static async Task<string> Md5Async(string path, CancellationToken cancel)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await MD5.HashDataAsync(stream, cancel));
    }
}
