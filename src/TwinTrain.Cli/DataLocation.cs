using TwinTrain.Data;
using TwinTrain.Data.Download;

namespace TwinTrain.Cli;

/// <summary>Finds the dataset when --data is not given: the file 'twintrain download' writes, in the default folder.</summary>
public static class DataLocation
{
    public static string Resolve(string? data)
    {
        if (!string.IsNullOrEmpty(data)) return data;
        string folder = CifarLoader.DefaultDataFolder();
        foreach (string candidate in new[] { CifarDownloader.FileName, "cifar-10-batches-bin", "cifar-10-python.tar.gz", "cifar-10-batches-py" })
        {
            string path = Path.Combine(folder, candidate);
            if (File.Exists(path) || Directory.Exists(path)) return path;
        }
        throw new FileNotFoundException(
            $"No CIFAR-10 found in {folder}. Run 'twintrain download' to fetch the official release there, " +
            "or pass --data PATH (cifar-10-binary.tar.gz, cifar-10-python.tar.gz, an extracted folder, or an image folder).");
    }
}
