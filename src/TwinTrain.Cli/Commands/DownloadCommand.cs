using System.CommandLine;
using TwinTrain.Data;
using TwinTrain.Data.Download;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain download`: fetch and verify a data set's official release (CIFAR-10's binary one by default).</summary>
public static class DownloadCommand
{
    public static Command Create()
    {
        var dir = new Option<string?>("--dir") { Description = $"Folder to download into (default: {DatasetLoader.DefaultDataFolder()})." };
        var dataset = new Option<string>("--dataset")
        {
            Description = $"The data set: {string.Join(", ", Releases.All.Select(r => $"{r.Dataset.Name} ({r.Size})"))}.",
            DefaultValueFactory = _ => DatasetInfo.Cifar10.Name,
        };
        dataset.AcceptOnlyFromAmong([.. Releases.All.Select(r => r.Dataset.Name)]);
        var url = new Option<Uri?>("--url")
        {
            Description = "Where to fetch from (default: the official release; for a release of several files, the address they are under).",
            CustomParser = result =>
            {
                string text = result.Tokens.Single().Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
                result.AddError($"--url: '{text}' is not an http or https address.");
                return null;
            },
        };
        var md5 = new Option<string?>("--md5") { Description = "Expected MD5 of each file, comma-separated (with --url).", Hidden = true };
        var command = new Command("download", "Download a data set's official release (CIFAR-10's binary one by default), verify each file's MD5, resume if interrupted.")
        {
            dir, dataset, url, md5,
        };
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var release = Releases.Of(DatasetInfo.Named(parse.GetValue(dataset)!)!);
            if (parse.GetValue(url) is { } address) release = release.From(address, Md5s(parse.GetValue(md5), release));
            string path = await Fetch(parse.GetValue(dir) ?? DatasetLoader.DefaultDataFolder(), release, output, cancel);
            output.WriteLine($"Train with: twintrain train --data {path}");
            return 0;
        });
        return command;
    }

    /// <summary>--md5's list, one per file of the release (null: the release's own).</summary>
    public static IReadOnlyList<string>? Md5s(string? text, Release release)
    {
        if (text is null) return null;
        var md5s = text.Split(',', StringSplitOptions.TrimEntries);
        if (md5s.Length != release.Files.Count)
            throw new ArgumentException($"--md5: {md5s.Length} checksum(s) for the {release.Files.Count} file(s) of {release.Dataset.Title}'s release.");
        return md5s;
    }

    /// <summary>Downloads (or resumes) and verifies each file of the release under <paramref name="folder"/> with a progress bar; returns what --data then points at.</summary>
    public static async Task<string> Fetch(string folder, Release release, TextWriter output, CancellationToken cancel)
    {
        using var http = Downloader.CreateClient();
        string target = Path.Combine(folder, release.Folder);
        foreach (var file in release.Files)
        {
            var progress = new DownloadBar(output, !Console.IsOutputRedirected);
            output.WriteLine($"Downloading {file.Url} to {target}");
            string path = await new Downloader(http).DownloadAsync(target, file.Url, file.Md5, progress, cancel, file.Name);
            progress.Done();
            output.WriteLine($"Verified and saved {path}");
        }
        return release.EntryIn(folder);
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
