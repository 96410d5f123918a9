using TwinTrain.Data.Formats;

namespace TwinTrain.Data;

/// <summary>
/// Where the data came from and how long it took, for the user and for run.json; <see cref="Decoder"/> names what
/// decoded the pixels of an image folder (null for the official releases, which hold raw pixels).
/// </summary>
public sealed record LoadReport(string Source, string Form, bool FromCache, double Seconds, string? CacheNote, string? Decoder);

/// <summary>Loads CIFAR-10 from a path, through the decoded-data cache unless that is turned off.</summary>
public static class DatasetLoader
{
    /// <summary>The default cache folder: $TWINTRAIN_CACHE, else $XDG_CACHE_HOME/twintrain, else ~/.cache/twintrain.</summary>
    public static string DefaultCacheFolder()
    {
        string? explicitFolder = Environment.GetEnvironmentVariable("TWINTRAIN_CACHE");
        if (!string.IsNullOrEmpty(explicitFolder)) return explicitFolder;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "twintrain");
    }

    /// <summary>The default dataset folder, where `twintrain download` puts the official release.</summary>
    public static string DefaultDataFolder()
    {
        string? explicitFolder = Environment.GetEnvironmentVariable("TWINTRAIN_DATA");
        if (!string.IsNullOrEmpty(explicitFolder)) return explicitFolder;
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".twintrain", "datasets");
    }

    /// <summary>
    /// Loads the data set at <paramref name="source"/>: <paramref name="dataset"/> when given, else recognised from what
    /// the path holds (IDX files: Fashion-MNIST when the path names it, else MNIST; anything else: CIFAR-10).
    /// </summary>
    public static (Dataset Data, LoadReport Report) Load(string source, string? cacheFolder = null, bool useCache = true, DatasetInfo? dataset = null)
    {
        if (!File.Exists(source) && !Directory.Exists(source))
            throw new FileNotFoundException(
                $"{source}: no such file or folder. Get CIFAR-10 with 'twintrain download' or point --data at a copy " +
                "(cifar-10-binary.tar.gz, cifar-10-python.tar.gz, their extracted folders, or an image folder; " +
                "for --dataset fashion-mnist or mnist, the folder of its four IDX files).", source);
        var info = Recognise(source, dataset);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var cache = useCache ? new DatasetCache(cacheFolder ?? DefaultCacheFolder()) : null;
        string? note = null;
        if (cache is not null)
        {
            var (cached, cachedForm, reason) = cache.TryLoad(source, info);
            if (cached is not null)
                return (cached, new LoadReport(source, cachedForm.ToString(), true, clock.Elapsed.TotalSeconds, cache.PathFor(source, info), DecoderOf(cachedForm)));
            note = reason;
        }

        var (data, form) = info == DatasetInfo.Cifar10 ? CifarReader.Read(source) : (IdxReader.Read(source, info), DataForm.Idx);
        if (cache is not null)
        {
            try
            {
                cache.Save(source, data, form);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                note = $"could not write the cache in {cache.Folder}: {e.Message}";
            }
        }
        return (data, new LoadReport(source, form.ToString(), false, clock.Elapsed.TotalSeconds, note, DecoderOf(form)));
    }

    /// <summary>Where a data set is kept when --data does not say: Debian's copy of Fashion-MNIST, else under <see cref="DefaultDataFolder"/>.</summary>
    public static string DefaultFolderOf(DatasetInfo dataset)
    {
        const string debianFashionMnist = "/usr/share/datasets/fashion-mnist";
        if (dataset == DatasetInfo.FashionMnist && Directory.Exists(debianFashionMnist)) return debianFashionMnist;
        return Path.Combine(DefaultDataFolder(), dataset.Name);
    }

    /// <summary>The data set at <paramref name="source"/>: <paramref name="dataset"/> if given (checked against what the path holds), else recognised.</summary>
    public static DatasetInfo Recognise(string source, DatasetInfo? dataset)
    {
        bool idx = IdxReader.Holds(source);
        if (dataset is null)
            return !idx ? DatasetInfo.Cifar10
                : source.Contains("fashion", StringComparison.OrdinalIgnoreCase) ? DatasetInfo.FashionMnist : DatasetInfo.Mnist;
        if (!File.Exists(source) && !Directory.Exists(source)) return dataset; // the load that follows names the missing path
        if (idx && dataset == DatasetInfo.Cifar10)
            throw new DataFormatException($"{source}: holds IDX files (MNIST or Fashion-MNIST), not CIFAR-10; say --dataset fashion-mnist or mnist.");
        if (!idx && dataset != DatasetInfo.Cifar10)
            throw new DataFormatException($"{source}: no IDX files (train-images-idx3-ubyte[.gz] and the other three) for {dataset.Name}.");
        return dataset;
    }

    static string? DecoderOf(DataForm form) => form == DataForm.ImageFolder ? ImageFile.JpegDecoder : null;
}
