using TwinTrain.Data;
using TwinTrain.Data.Download;

namespace TwinTrain.Cli;

/// <summary>Finds the dataset when --data is not given: the file 'twintrain download' writes, in the default folder.</summary>
public static class DataLocation
{
    public static string Resolve(string? data, DatasetInfo? dataset = null) => Find(data, dataset) ?? throw NotFound();

    /// <summary>
    /// --data; else for a data set other than CIFAR-10 where it is kept (<see cref="DatasetLoader.DefaultFolderOf"/>);
    /// else CIFAR-10's release in the default folder, or null when there is none there.
    /// </summary>
    public static string? Find(string? data, DatasetInfo? dataset = null)
    {
        if (!string.IsNullOrEmpty(data)) return data;
        if (dataset is not null && dataset != DatasetInfo.Cifar10) return DatasetLoader.DefaultFolderOf(dataset);
        string folder = DatasetLoader.DefaultDataFolder();
        foreach (string candidate in new[] { CifarDownloader.FileName, "cifar-10-batches-bin", "cifar-10-python.tar.gz", "cifar-10-batches-py" })
        {
            string path = Path.Combine(folder, candidate);
            if (File.Exists(path) || Directory.Exists(path)) return path;
        }
        return null;
    }

    static FileNotFoundException NotFound() => new(
        $"No CIFAR-10 found in {DatasetLoader.DefaultDataFolder()}. Run 'twintrain download' to fetch the official release there, " +
        "pass --download to fetch it now, or pass --data PATH (cifar-10-binary.tar.gz, cifar-10-python.tar.gz, an extracted folder, or an image folder).");

    /// <summary>
    /// As keras.datasets.cifar10.load_data() and torchvision's download=True: when no --data is given and the release
    /// is not where 'twintrain download' puts it, fetch it there (progress bar, MD5, resume) and go on. With
    /// <paramref name="allowed"/> (--download) at once; on a terminal after asking; in a script it stays an error.
    /// </summary>
    public static string ResolveOrDownload(string? data, DatasetInfo dataset, bool allowed, Uri url, string md5, TextWriter output, CancellationToken cancel)
    {
        if (Find(data, dataset) is { } found) return found;
        bool interactive = !Console.IsInputRedirected && !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out);
        if (!allowed && interactive)
        {
            output.Write($"CIFAR-10 is not in {DatasetLoader.DefaultDataFolder()}. Download the official release (162 MB) there now? [y/N] ");
            allowed = Console.ReadLine()?.Trim().ToLowerInvariant() is "y" or "yes";
        }
        if (!allowed) throw NotFound();
        return Commands.DownloadCommand.Fetch(DatasetLoader.DefaultDataFolder(), url, md5, output, cancel).GetAwaiter().GetResult();
    }
}
