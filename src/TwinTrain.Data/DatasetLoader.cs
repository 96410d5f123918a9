using TwinTrain.Data.Formats;

namespace TwinTrain.Data;

/// <summary>
/// Where the data came from and how long it took, for the user and for run.json; <see cref="Decoder"/> names what
/// decoded the pixels of an image folder (null for the official releases, which hold raw pixels).
/// </summary>
public sealed record LoadReport(string Source, string Form, bool FromCache, double Seconds, string? CacheNote, string? Decoder);

/// <summary>Loads a data set from a path, through the decoded-data cache unless that is turned off.</summary>
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
    /// Loads the data set at <paramref name="source"/>: <paramref name="dataset"/> when given (checked against what the
    /// path holds), else what the path holds (IDX files: Fashion-MNIST when the path names it, else MNIST; CIFAR-100;
    /// a CIFAR-10 release; an image folder of any classes, its images made as <paramref name="images"/> says).
    /// </summary>
    public static (Dataset Data, LoadReport Report) Load(string source, string? cacheFolder = null, bool useCache = true,
        DatasetInfo? dataset = null, ImageFolderOptions? images = null)
    {
        if (!File.Exists(source) && !Directory.Exists(source))
            throw new FileNotFoundException(
                $"{source}: no such file or folder. Get the data with 'twintrain download' or point --data at a copy " +
                "(CIFAR-10's or CIFAR-100's release as an archive or folder, the folder of MNIST's or Fashion-MNIST's " +
                "four IDX files, or an image folder of train/<class>/ and test/<class>/).", source);
        images ??= ImageFolderOptions.Default;
        source = Root(source);
        var requested = Recognise(source, dataset);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var cache = useCache ? new DatasetCache(cacheFolder ?? DefaultCacheFolder()) : null;
        string? note = null;
        if (cache is not null)
        {
            var (cached, cachedForm, reason) = cache.TryLoad(source, requested, images);
            if (cached is not null)
                return (cached, new LoadReport(source, cachedForm.ToString(), true, clock.Elapsed.TotalSeconds, cache.PathFor(source, requested, images), DecoderOf(cachedForm)));
            note = reason;
        }

        var (data, form) = Read(source, requested, images);
        if (requested is not null && data.Info != requested)
            throw new DataFormatException($"{source}: holds {data.Info.Title} ({data.Info.Shape}, {data.Info.Classes} classes), not {requested.Title}.");
        if (cache is not null)
        {
            try
            {
                cache.Save(source, requested, images, data, form);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                note = $"could not write the cache in {cache.Folder}: {e.Message}";
            }
        }
        return (data, new LoadReport(source, form.ToString(), false, clock.Elapsed.TotalSeconds, note, DecoderOf(form)));
    }

    static (Dataset Data, DataForm Form) Read(string source, DatasetInfo? requested, ImageFolderOptions images)
    {
        if (requested == DatasetInfo.Mnist || requested == DatasetInfo.FashionMnist)
            return images.ChangeImages ? throw ImageFolderOptions.NotForImageFolders(source, "IDX files") : (IdxReader.Read(source, requested), DataForm.Idx);
        if (requested == DatasetInfo.Cifar100 || requested == DatasetInfo.Cifar100Coarse)
            return images.ChangeImages ? throw ImageFolderOptions.NotForImageFolders(source, "CIFAR-100's release") : Cifar100Reader.Read(source, requested);
        return CifarReader.Read(source, requested, images);
    }

    /// <summary>What holds the data set: the folder of an IDX file --data points at (the four are read together), else the path itself.</summary>
    static string Root(string source) => IdxReader.IsIdxFile(source) ? Path.GetDirectoryName(Path.GetFullPath(source))! : source;

    /// <summary>Where Debian's dataset-fashion-mnist puts Fashion-MNIST's four IDX files.</summary>
    public const string DebianFashionMnist = "/usr/share/datasets/fashion-mnist";

    /// <summary>
    /// The data set at <paramref name="source"/> as far as its names tell (cheap: nothing is decoded):
    /// <paramref name="dataset"/> if given (checked against what the path holds), else MNIST or Fashion-MNIST for IDX
    /// files, CIFAR-100 for its release; null for anything else, a CIFAR-10 release or an image folder, which reading
    /// tells apart.
    /// </summary>
    public static DatasetInfo? Recognise(string source, DatasetInfo? dataset)
    {
        source = Root(source);
        bool exists = File.Exists(source) || Directory.Exists(source);
        bool idx = exists && IdxReader.Holds(source);
        bool cifar100 = exists && !idx && Cifar100Reader.Holds(source);
        bool isCifar100 = dataset == DatasetInfo.Cifar100 || dataset == DatasetInfo.Cifar100Coarse;
        bool isIdx = dataset == DatasetInfo.Mnist || dataset == DatasetInfo.FashionMnist;
        if (dataset is null)
            return idx ? (source.Contains("fashion", StringComparison.OrdinalIgnoreCase) ? DatasetInfo.FashionMnist : DatasetInfo.Mnist)
                : cifar100 ? DatasetInfo.Cifar100
                : null;
        if (!exists) return dataset; // the load that follows names the missing path
        if (idx && !isIdx)
            throw new DataFormatException($"{source}: holds IDX files (MNIST or Fashion-MNIST), not {dataset.Title}; say --dataset fashion-mnist or mnist.");
        if (!idx && isIdx)
            throw new DataFormatException($"{source}: no IDX files (train-images-idx3-ubyte[.gz] and the other three) for {dataset.Name}.");
        if (cifar100 && !isCifar100)
            throw new DataFormatException($"{source}: holds CIFAR-100, not {dataset.Title}; say --dataset cifar100.");
        return dataset;
    }

    static string? DecoderOf(DataForm form) => form == DataForm.ImageFolder ? ImageFile.JpegDecoder : null;
}
