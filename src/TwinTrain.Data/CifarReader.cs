using System.Text.RegularExpressions;
using TwinTrain.Data.Formats;
using TwinTrain.Data.Sources;

namespace TwinTrain.Data;

/// <summary>
/// The forms of data that the readers recognise: the official binary and python releases (<see cref="CifarReader"/>,
/// <see cref="Cifar100Reader"/>), image folders (<see cref="ImageFolderReader"/>) and IDX (<see cref="IdxReader"/>).
/// </summary>
public enum DataForm { OfficialBinary, OfficialPython, ImageFolder, Idx }

/// <summary>
/// Reads CIFAR-10 from any form a user has, as a folder or an archive: the official binary release
/// (data_batch_1.bin .. test_batch.bin), the official python release (pickled data_batch_1 .. test_batch) or an
/// image folder (train/&lt;class&gt;/*.jpg|png and test/&lt;class&gt;/...), which may hold any classes and sizes
/// unless CIFAR-10 is <paramref name="expected"/> (<see cref="ImageFolderReader"/>).
/// </summary>
public static partial class CifarReader
{
    [GeneratedRegex(@"^(data_batch_[1-5]|test_batch)(\.bin)?$", RegexOptions.IgnoreCase)]
    private static partial Regex BatchName();

    public static (Dataset Data, DataForm Form) Read(string path) => Read(path, DatasetInfo.Cifar10, ImageFolderOptions.Default);

    /// <summary>
    /// Reads what <paramref name="path"/> holds: CIFAR-10 in a release, or an image folder, which must hold CIFAR-10's
    /// classes at 32x32 when <paramref name="expected"/> is CIFAR-10 and may hold any when it is null.
    /// </summary>
    public static (Dataset Data, DataForm Form) Read(string path, DatasetInfo? expected, ImageFolderOptions images)
    {
        var binary = new SortedDictionary<string, (byte[], byte[])>(StringComparer.Ordinal);
        var python = new SortedDictionary<string, (byte[], byte[])>(StringComparer.Ordinal);
        var folder = new ImageFolderReader(images, expected);

        DatasetSource.Visit(path, MaxBytes, entry =>
        {
            string file = Path.GetFileName(entry.RelativePath);
            var batch = BatchName().Match(file);
            if (batch.Success)
            {
                string name = batch.Groups[1].Value.ToLowerInvariant();
                var target = batch.Groups[2].Success ? binary : python;
                if (target.ContainsKey(name))
                    throw new DataFormatException($"{path}: holds '{file}' more than once (second: {entry.Location}).");
                target[name] = batch.Groups[2].Success
                    ? BinaryBatch.Parse(entry.ReadAll(), entry.Location)
                    : PickleBatch.Parse(entry.ReadAll(), entry.Location);
                return;
            }
            folder.List(entry);
        });

        int forms = (binary.Count > 0 ? 1 : 0) + (python.Count > 0 ? 1 : 0) + (folder.Any ? 1 : 0);
        if (forms > 1)
            throw new DataFormatException($"{path}: holds more than one form of CIFAR-10 (binary, python, image folders); point --data at one of them.");
        if ((binary.Count > 0 || python.Count > 0) && images.ChangeImages)
            throw ImageFolderOptions.NotForImageFolders(path, "a CIFAR-10 release");
        if (binary.Count > 0) return (FromBatches(binary, path, ".bin"), DataForm.OfficialBinary);
        if (python.Count > 0) return (FromBatches(python, path, ""), DataForm.OfficialPython);
        if (forms == 0)
            throw new DataFormatException(
                $"{path}: no CIFAR-10 found (expected data_batch_1.bin..test_batch.bin, pickled data_batch_1..test_batch, " +
                "or train/<class>/*.jpg and test/<class>/*.jpg).");
        // The images were listed (and nothing else is here); now each is decoded into its place (ImageFolderReader).
        DatasetSource.Visit(path, MaxBytes, folder.Decode);
        return (folder.Build(path), DataForm.ImageFolder);
    }

    /// <summary>
    /// How large a file of the release may be, or null for files not needed: a batch of 10,000 images is about 30 MB
    /// (binary 30,730,000 bytes; pickled a little more), a 32x32 image a few KB (a PNG with metadata at most a few hundred).
    /// </summary>
    static long? MaxBytes(string relativePath) =>
        BatchName().IsMatch(Path.GetFileName(relativePath)) ? MaxBatchBytes
        : ImageFolderReader.SplitAndClass(relativePath) is not null ? ImageFolderReader.MaxImageBytes
        : null;

    public const long MaxBatchBytes = 64L << 20;

    static Dataset FromBatches(SortedDictionary<string, (byte[] Pixels, byte[] Labels)> batches, string path, string extension)
    {
        string[] trainNames = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"];
        foreach (string name in trainNames.Append("test_batch"))
        {
            if (!batches.ContainsKey(name))
                throw new DataFormatException($"{path}: '{name}{extension}' is missing; the official release has data_batch_1..5 and test_batch.");
        }
        return new Dataset(DatasetInfo.Cifar10, Concat(trainNames.Select(n => batches[n])), Concat([batches["test_batch"]]));
    }

    static ImageSet Concat(IEnumerable<(byte[] Pixels, byte[] Labels)> parts)
    {
        var list = parts.ToList();
        var pixels = new byte[list.Sum(p => p.Pixels.Length)];
        var labels = new byte[list.Sum(p => p.Labels.Length)];
        int pixelOffset = 0, labelOffset = 0;
        foreach (var (partPixels, partLabels) in list)
        {
            partPixels.CopyTo(pixels, pixelOffset);
            partLabels.CopyTo(labels, labelOffset);
            pixelOffset += partPixels.Length;
            labelOffset += partLabels.Length;
        }
        return new ImageSet(pixels, labels);
    }
}
