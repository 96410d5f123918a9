using System.CommandLine;
using TwinTrain.Data;
using TwinTrain.Data.Download;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain download`: fetch and verify the official CIFAR-10 binary release.</summary>
public static class DownloadCommand
{
    public static Command Create()
    {
        var dir = new Option<string?>("--dir") { Description = $"Folder to download into (default: {DatasetLoader.DefaultDataFolder()})." };
        var url = new Option<Uri>("--url")
        {
            Description = "Where to fetch from (default: the official release).",
            DefaultValueFactory = _ => new Uri(CifarDownloader.OfficialUrl),
            CustomParser = result =>
            {
                string text = result.Tokens.Single().Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
                result.AddError($"--url: '{text}' is not an http or https address.");
                return null;
            },
        };
        var md5 = new Option<string>("--md5") { Description = "Expected MD5 of the archive.", DefaultValueFactory = _ => CifarDownloader.OfficialMd5, Hidden = true };
        var command = new Command("download", "Download the official CIFAR-10 binary release (162 MB), verify its MD5, resume if interrupted.")
        {
            dir, url, md5,
        };
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            string path = await Fetch(parse.GetValue(dir) ?? DatasetLoader.DefaultDataFolder(), parse.GetValue(url)!, parse.GetValue(md5)!, output, cancel);
            output.WriteLine($"Train with: twintrain train --data {path}");
            return 0;
        });
        return command;
    }

    /// <summary>Downloads (or resumes) and verifies the release into <paramref name="folder"/> with a progress bar; returns its path.</summary>
    public static async Task<string> Fetch(string folder, Uri url, string md5, TextWriter output, CancellationToken cancel)
    {
        var progress = new DownloadBar(output, !Console.IsOutputRedirected);
        using var http = CifarDownloader.CreateClient();
        output.WriteLine($"Downloading {url} to {folder}");
        string path = await new CifarDownloader(http).DownloadAsync(folder, url, md5, progress, cancel);
        progress.Done();
        output.WriteLine($"Verified and saved {path}");
        return path;
    }

    /// <summary>Shows download progress; on a terminal in place, otherwise every 10%.</summary>
    sealed class DownloadBar(TextWriter output, bool live) : IProgress<DownloadProgress>
    {
        int _lastTenth = -1;
        DateTime _lastDraw = DateTime.MinValue;

        public void Report(DownloadProgress value)
        {
            double? fraction = value.Total is > 0 ? (double)value.Bytes / value.Total.Value : null;
            string text = fraction is double f
                ? $"{value.Bytes / 1e6,7:F1} / {value.Total!.Value / 1e6:F1} MB {new string('━', (int)(f * 20)).PadRight(20, '─')} {f,6:P1}"
                : $"{value.Bytes / 1e6,7:F1} MB";
            if (live)
            {
                if (DateTime.UtcNow - _lastDraw < TimeSpan.FromMilliseconds(100) && fraction < 1) return;
                _lastDraw = DateTime.UtcNow;
                output.Write("\r" + text);
            }
            else if (fraction is double g && (int)(g * 10) > _lastTenth)
            {
                _lastTenth = (int)(g * 10);
                output.WriteLine(text);
            }
        }

        public void Done()
        {
            if (live) output.WriteLine();
        }
    }
}
