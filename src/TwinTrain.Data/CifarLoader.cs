using TwinTrain.Data.Formats;

namespace TwinTrain.Data;

/// <summary>
/// Where the data came from and how long it took, for the user and for run.json; <see cref="Decoder"/> names what
/// decoded the pixels of an image folder (null for the official releases, which hold raw pixels).
/// </summary>
public sealed record LoadReport(string Source, string Form, bool FromCache, double Seconds, string? CacheNote, string? Decoder);

/// <summary>Loads CIFAR-10 from a path, through the decoded-data cache unless that is turned off.</summary>
public static class CifarLoader
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

    public static (Cifar10 Data, LoadReport Report) Load(string source, string? cacheFolder = null, bool useCache = true)
    {
        if (!File.Exists(source) && !Directory.Exists(source))
            throw new FileNotFoundException(
                $"{source}: no such file or folder. Get CIFAR-10 with 'twintrain download' or point --data at a copy " +
                "(cifar-10-binary.tar.gz, cifar-10-python.tar.gz, their extracted folders, or an image folder).", source);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var cache = useCache ? new DatasetCache(cacheFolder ?? DefaultCacheFolder()) : null;
        string? note = null;
        if (cache is not null)
        {
            var (cached, cachedForm, reason) = cache.TryLoad(source);
            if (cached is not null)
                return (cached, new LoadReport(source, cachedForm.ToString(), true, clock.Elapsed.TotalSeconds, cache.PathFor(source), DecoderOf(cachedForm)));
            note = reason;
        }

        var (data, form) = CifarReader.Read(source);
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

    static string? DecoderOf(CifarForm form) => form == CifarForm.ImageFolder ? ImageFile.JpegDecoder : null;
}
