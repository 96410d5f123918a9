using System.Text;
using System.Text.RegularExpressions;
using TwinTrain.Data.Formats;
using TwinTrain.Data.Sources;

namespace TwinTrain.Data;

/// <summary>
/// Reads CIFAR-100 in its official forms, as a folder or an archive: the python release (cifar-100-python/: pickled
/// 'train', 'test' and 'meta', as keras.datasets.cifar100 and torchvision.datasets.CIFAR100 read it) or the binary
/// release (cifar-100-binary/: train.bin and test.bin, records of a coarse label byte, a fine label byte and 3,072
/// pixel bytes, with fine_label_names.txt and coarse_label_names.txt). The labels are the fine ones (100 classes)
/// or the coarse ones (20) as the data set asked for says; the release's own label names, when present, must be
/// CIFAR-100's.
/// </summary>
public static partial class Cifar100Reader
{
    [GeneratedRegex(@"^(train|test|meta)(\.bin)?$|^(fine|coarse)_label_names\.txt$", RegexOptions.IgnoreCase)]
    private static partial Regex FileName();

    /// <summary>A 50,000-image batch is 153,700,000 bytes in the binary release (a little more pickled).</summary>
    const long MaxFileBytes = 256L << 20;

    /// <summary>
    /// Whether <paramref name="path"/> holds CIFAR-100 (cheap: names only): an archive named cifar-100*, or a folder
    /// with 'meta' beside 'train', or train.bin and test.bin (CIFAR-10's are data_batch_N.bin), or a cifar-100* folder.
    /// </summary>
    public static bool Holds(string path)
    {
        if (File.Exists(path)) return Path.GetFileName(path).StartsWith("cifar-100", StringComparison.OrdinalIgnoreCase);
        if (!Directory.Exists(path)) return false;
        var names = Directory.EnumerateFiles(path).Select(f => Path.GetFileName(f).ToLowerInvariant()).ToHashSet();
        return (names.Contains("meta") && names.Contains("train")) || (names.Contains("train.bin") && names.Contains("test.bin"))
            || names.Contains("fine_label_names.txt")
            || Directory.EnumerateDirectories(path).Any(d => Path.GetFileName(d).StartsWith("cifar-100", StringComparison.OrdinalIgnoreCase));
    }

    public static (Dataset Data, DataForm Form) Read(string path, DatasetInfo info)
    {
        bool coarse = info == DatasetInfo.Cifar100Coarse;
        if (!coarse && info != DatasetInfo.Cifar100) throw new ArgumentException($"{info.Name} is not CIFAR-100.", nameof(info));
        var files = DatasetSource.CollectByKey(path, relative => FileName().IsMatch(Path.GetFileName(relative)) ? Path.GetFileName(relative).ToLowerInvariant() : null, MaxFileBytes);

        bool binary = files.ContainsKey("train.bin") || files.ContainsKey("test.bin");
        bool python = files.ContainsKey("train") || files.ContainsKey("test");
        if (binary && python)
            throw new DataFormatException($"{path}: holds both CIFAR-100 releases (train.bin and the pickled train); point --data at one of them.");
        if (!binary && !python)
            throw new DataFormatException($"{path}: no CIFAR-100 found (expected the python release's train, test and meta, or the binary release's train.bin and test.bin).");

        (byte[] Bytes, string Location) File(string name) => files.TryGetValue(name, out var file) ? file
            : throw new DataFormatException($"{path}: '{name}' is missing; the CIFAR-100 {(binary ? "binary" : "python")} release has {(binary ? "train.bin and test.bin" : "train, test and meta")}.");
        ImageSet Split(string name)
        {
            var (bytes, location) = File(name);
            var (pixels, labels) = binary
                ? BinaryBatch.Parse(bytes, location, BinaryBatch.Cifar100(coarse))
                : PickleBatch.Parse(bytes, location, coarse ? "coarse_labels" : "fine_labels", info.Classes);
            return new ImageSet(pixels, labels, info.Shape);
        }

        var train = Split(binary ? "train.bin" : "train");
        var test = Split(binary ? "test.bin" : "test");
        if (binary)
        {
            // The binary release's label names are plain text, one per line; they are checked when present.
            foreach (var (kind, expected) in new[] { ("fine", Cifar100Classes.Fine), ("coarse", Cifar100Classes.Coarse) })
            {
                if (files.TryGetValue($"{kind}_label_names.txt", out var names))
                    CheckNames(Encoding.ASCII.GetString(names.Bytes).Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), expected, names.Location);
            }
        }
        else
        {
            var (bytes, location) = File("meta");
            var meta = PickleBatch.Load(bytes, location);
            CheckNames(PickleBatch.Strings(meta, location, "fine_label_names"), Cifar100Classes.Fine, location);
            CheckNames(PickleBatch.Strings(meta, location, "coarse_label_names"), Cifar100Classes.Coarse, location);
        }
        return (new Dataset(info, train, test), binary ? DataForm.OfficialBinary : DataForm.OfficialPython);
    }

    static void CheckNames(IReadOnlyList<string> names, IReadOnlyList<string> expected, string location)
    {
        if (names.SequenceEqual(expected)) return;
        int at = Enumerable.Range(0, Math.Min(names.Count, expected.Count)).FirstOrDefault(i => names[i] != expected[i], Math.Min(names.Count, expected.Count));
        throw new DataFormatException(names.Count != expected.Count
            ? $"{location}: {names.Count} label names; CIFAR-100 has {expected.Count} here."
            : $"{location}: label {at} is named '{names[at]}'; CIFAR-100's is '{expected[at]}'.");
    }
}
