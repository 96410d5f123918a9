using TwinTrain.Data;

namespace TwinTrain.Tests.Shared;

/// <summary>
/// The real CIFAR-10 kept beside the project in ../shared/datasets. Tests that need it fail with a clear message
/// when it is missing; they never skip silently. Decoded once per machine into a cache under the temp folder.
/// </summary>
public static class SharedData
{
    public const string ArchiveName = "cifar10-jpeg.tar.gz";
    static readonly Lazy<Dataset> Cifar = new(() => DatasetLoader.Load(ArchivePath, CacheFolder).Data);

    public static string RepositoryRoot
    {
        get
        {
            var folder = new DirectoryInfo(AppContext.BaseDirectory);
            while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "TwinTrain.sln"))) folder = folder.Parent;
            return folder?.FullName ?? throw new InvalidOperationException($"No TwinTrain.sln above {AppContext.BaseDirectory}.");
        }
    }

    public static string ArchivePath
    {
        get
        {
            string path = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "datasets", ArchiveName));
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"The real-data tests need {path} (the shared CIFAR-10 JPEG archive beside the repository). It is missing.");
            return path;
        }
    }

    public static string CacheFolder => Path.Combine(Path.GetTempPath(), "twintrain-test-cache");

    /// <summary>All 60,000 shared images, decoded once per test process.</summary>
    public static Dataset Cifar10 => Cifar.Value;
}
