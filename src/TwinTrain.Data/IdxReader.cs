using System.Text.RegularExpressions;
using TwinTrain.Data.Formats;
using TwinTrain.Data.Sources;

namespace TwinTrain.Data;

/// <summary>
/// Reads MNIST or Fashion-MNIST in their official IDX form: train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each gzipped or not, in a folder (as Debian's
/// dataset-fashion-mnist, keras.datasets' cache or torchvision's raw/ folder keep them) or an archive.
/// </summary>
public static partial class IdxReader
{
    [GeneratedRegex(@"^(train|t10k)-(images-idx3|labels-idx1)-ubyte(\.gz)?$", RegexOptions.IgnoreCase)]
    private static partial Regex FileName();

    /// <summary>
    /// Whether <paramref name="path"/> holds IDX files (cheap: only names are looked at): a folder with one of the four
    /// files, or an archive whose name says mnist (fashion-mnist.tar.gz, mnist.tgz).
    /// </summary>
    public static bool Holds(string path) =>
        Directory.Exists(path) ? Directory.EnumerateFiles(path).Any(f => FileName().IsMatch(Path.GetFileName(f)))
        : File.Exists(path) && DatasetSource.IsArchive(path) && Path.GetFileName(path).Contains("mnist", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="path"/> is one of the four IDX files itself (then its folder holds the data set).</summary>
    public static bool IsIdxFile(string path) => File.Exists(path) && FileName().IsMatch(Path.GetFileName(path));

    /// <summary>An IDX file is at most 47 MB (60,000 images of 28x28) unpacked; a few times that leaves room for larger sets.</summary>
    const long MaxFileBytes = 256L << 20;

    public static Dataset Read(string path, DatasetInfo info)
    {
        var files = DatasetSource.CollectByKey(path, relative => FileName().Match(Path.GetFileName(relative)) is { Success: true } match
            ? $"{match.Groups[1].Value.ToLowerInvariant()}-{match.Groups[2].Value.ToLowerInvariant()}-ubyte" : null, MaxFileBytes);
        return new Dataset(info, Split(files, path, "train", info), Split(files, path, "t10k", info));
    }

    static ImageSet Split(Dictionary<string, (byte[] Bytes, string Location)> files, string path, string split, DatasetInfo info)
    {
        (byte[] Bytes, string Location) File(string kind) => files.TryGetValue($"{split}-{kind}-ubyte", out var file) ? file
            : throw new DataFormatException($"{path}: '{split}-{kind}-ubyte' (or .gz) is missing; the IDX release has train- and t10k- images and labels.");
        var imagesFile = File("images-idx3");
        var labelsFile = File("labels-idx1");
        var (imageSizes, pixels) = IdxFile.Parse(imagesFile.Bytes, imagesFile.Location, dimensions: 3);
        var (labelSizes, labels) = IdxFile.Parse(labelsFile.Bytes, labelsFile.Location, dimensions: 1);
        if (imageSizes[1] != info.Shape.Height || imageSizes[2] != info.Shape.Width || info.Shape.Channels != 1)
            throw new DataFormatException($"{imagesFile.Location}: images of {imageSizes[1]}x{imageSizes[2]}; {info.Name} images are {info.Shape}.");
        if (imageSizes[0] != labelSizes[0])
            throw new DataFormatException($"{labelsFile.Location}: {labelSizes[0]:N0} labels for the {imageSizes[0]:N0} images of {imagesFile.Location}.");
        int bad = Array.FindIndex(labels, l => l >= info.Classes);
        if (bad >= 0)
            throw new DataFormatException($"{labelsFile.Location}: label {labels[bad]} at index {bad:N0}; {info.Name} has {info.Classes} classes (0..{info.Classes - 1}).");
        return new ImageSet(pixels, labels, info.Shape);
    }
}
