using TwinTrain.Data;
using TwinTrain.Data.Download;

namespace TwinTrain.Cli;

/// <summary>Finds the data set when --data is not given: where 'twintrain download' puts its release (Debian's Fashion-MNIST first).</summary>
public static class DataLocation
{
    public static string Resolve(string? data, DatasetInfo? dataset = null) => Find(data, dataset) ?? throw NotFound(dataset);

    /// <summary>The forms of each release a user may keep in the data folder, in the order they are looked for.</summary>
    static IEnumerable<string> Candidates(DatasetInfo dataset)
    {
        if (dataset == DatasetInfo.FashionMnist) yield return DatasetLoader.DebianFashionMnist;
        string folder = DatasetLoader.DefaultDataFolder();
        var release = Releases.Of(dataset);
        yield return release.EntryIn(folder);
        string[] others = release.Dataset == DatasetInfo.Cifar10 ? ["cifar-10-batches-bin", "cifar-10-python.tar.gz", "cifar-10-batches-py"]
            : release.Dataset == DatasetInfo.Cifar100 ? ["cifar-100-python", "cifar-100-binary.tar.gz", "cifar-100-binary"]
            : [];
        foreach (string other in others) yield return Path.Combine(folder, other);
    }

    /// <summary>--data; else the data set's release where it is kept (CIFAR-10's when none is named), or null when there is none there.</summary>
    public static string? Find(string? data, DatasetInfo? dataset = null)
    {
        if (!string.IsNullOrEmpty(data)) return data;
        return Candidates(dataset ?? DatasetInfo.Cifar10).FirstOrDefault(path => File.Exists(path) || (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any()));
    }

    static FileNotFoundException NotFound(DatasetInfo? dataset)
    {
        var release = Releases.Of(dataset ?? DatasetInfo.Cifar10);
        string option = release.Dataset == DatasetInfo.Cifar10 ? "" : $" --dataset {release.Dataset.Name}";
        return new FileNotFoundException(
            $"No {release.Dataset.Title} found in {DatasetLoader.DefaultDataFolder()}. Run 'twintrain download{option}' to fetch the official release there, " +
            "pass --download to fetch it now, or pass --data PATH (a release as an archive or folder, a folder of IDX files, or an image folder).");
    }

    /// <summary>
    /// As keras.datasets' load_data() and torchvision's download=True: when no --data is given and the release is not
    /// where 'twintrain download' puts it, fetch it there (progress bar, MD5, resume) and go on. With
    /// <paramref name="allowed"/> (--download) at once; on a terminal after asking; in a script it stays an error.
    /// <paramref name="url"/> and <paramref name="md5s"/> (comma-separated, one per file) fetch it from elsewhere (tests).
    /// </summary>
    public static string ResolveOrDownload(string? data, DatasetInfo? dataset, bool allowed, Uri? url, string? md5s, TextWriter output, CancellationToken cancel)
    {
        if (Find(data, dataset) is { } found) return found;
        if (!string.IsNullOrEmpty(data)) return data;
        var release = Releases.Of(dataset ?? DatasetInfo.Cifar10);
        bool interactive = !Console.IsInputRedirected && !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out);
        if (!allowed && interactive)
        {
            output.Write($"{release.Dataset.Title} is not in {DatasetLoader.DefaultDataFolder()}. Download the official release ({release.Size}) there now? [y/N] ");
            allowed = Console.ReadLine()?.Trim().ToLowerInvariant() is "y" or "yes";
        }
        if (!allowed) throw NotFound(dataset);
        if (url is not null) release = release.From(url, Commands.DownloadCommand.Md5s(md5s, release));
        return Commands.DownloadCommand.Fetch(DatasetLoader.DefaultDataFolder(), release, output, cancel).GetAwaiter().GetResult();
    }
}
