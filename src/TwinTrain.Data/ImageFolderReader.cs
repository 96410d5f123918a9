using TwinTrain.Data.Formats;
using TwinTrain.Data.Sources;

namespace TwinTrain.Data;

/// <summary>
/// How an image folder's files become images, as image_dataset_from_directory's image_size and color_mode say it:
/// resized to <see cref="Height"/> x <see cref="Width"/> when given (bilinear, half-pixel centres, as tf.image.resize
/// and torch's interpolate(align_corners=False) compute it, rounded to bytes), else every image must have one size;
/// grey (one channel, ITU-R 601-2 luma as PIL's convert("L") computes it) or RGB.
/// </summary>
public sealed record ImageFolderOptions(int? Height = null, int? Width = null, bool Grayscale = false)
{
    public static ImageFolderOptions Default { get; } = new();

    public int Channels => Grayscale ? 1 : 3;

    public bool Resizes => Height is not null;

    /// <summary>Whether these options change the images (so they apply to an image folder only).</summary>
    public bool ChangeImages => Resizes || Grayscale;

    /// <summary>The one refusal of --image-size and --color for data that is not an image folder.</summary>
    public static DataFormatException NotForImageFolders(string source, string what) =>
        new($"{source}: holds {what}; --image-size and --color apply to image folders only.");

    /// <summary>--image-size H,W (or one number for a square), checked.</summary>
    public static (int Height, int Width) ParseSize(string text)
    {
        var parts = text.Split(',', 'x');
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p.Trim(), out int n) && n is >= 1 and <= 4096))
        {
            int height = int.Parse(parts[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            return (height, parts.Length == 2 ? int.Parse(parts[1].Trim(), System.Globalization.CultureInfo.InvariantCulture) : height);
        }
        throw new ArgumentException($"--image-size: '{text}' is not a height and width in pixels (e.g. 64,64; 1 to 4096 each).");
    }

    /// <summary>--color rgb|grayscale.</summary>
    public static bool ParseGrayscale(string text) => text.ToLowerInvariant() switch
    {
        "rgb" => false,
        "grayscale" or "greyscale" => true,
        _ => throw new ArgumentException($"--color: '{text}' is not rgb or grayscale."),
    };

    /// <summary>What the options change, for the cache's key and run.json (empty for the defaults).</summary>
    public override string ToString() =>
        (Resizes ? $"resized to {Height}x{Width}" : "") + (Grayscale ? (Resizes ? ", " : "") + "grayscale" : "");
}

/// <summary>
/// Collects the images of an image folder, train/&lt;class&gt;/*.jpg|png|bmp and test/&lt;class&gt;/..., as a folder
/// or an archive, and makes a data set of them: the classes are the training split's folder names in sorted order
/// (as image_dataset_from_directory and torchvision's ImageFolder number them), the images in a fixed order (class,
/// then path) whatever order the source lists them in. A folder whose classes and image shape are a known data
/// set's (CIFAR-10's ten names at 32x32 RGB) is that data set.
/// In two passes over the source: the first lists the images (<see cref="List"/>), which fixes each one's place, and
/// the second decodes each straight into its place in its split's array (<see cref="Decode"/>). So the decoded pixels
/// are held once: collected image by image and then copied in order, CIFAR-10's 60,000 took twice its 184 MB.
/// </summary>
public sealed class ImageFolderReader(ImageFolderOptions options, DatasetInfo? expected = null)
{
    public const long MaxImageBytes = 64L << 20;

    /// <summary>A decoded image is at most this many pixels (a 64-megapixel photo), so a hostile header cannot exhaust memory.</summary>
    const long MaxPixels = 1L << 26;

    /// <summary>The images in the order the source lists them; after the first pass, each one's index in its split and label.</summary>
    readonly List<Image> _images = [];
    (int Place, byte Label)[]? _slots;
    /// <summary>The classes: the training split's folder names in sorted order, or those expected.</summary>
    List<string> _classes = [];
    int _decoded;
    (int Width, int Height, string Location)? _firstSize;
    readonly Dictionary<string, (byte[] Pixels, byte[] Labels)> _splits = [];

    readonly record struct Image(string Split, string Class, string Path);

    public bool Any => _images.Count > 0;

    /// <summary>For '.../train/cat/0001.jpg' gives ("train", "cat"); null for anything that is not such an image.</summary>
    public static (string Split, string Class)? SplitAndClass(string relativePath)
    {
        if (!ImageFile.HasImageExtension(relativePath)) return null;
        var parts = relativePath.Split('/');
        if (parts.Length < 3) return null;
        string split = parts[^3].ToLowerInvariant();
        return split is "train" or "test" ? (split, parts[^2]) : null;
    }

    /// <summary>The first pass: notes one image of the folder (an entry <see cref="SplitAndClass"/> recognises) without reading it.</summary>
    public void List(SourceEntry entry)
    {
        var (split, className) = SplitAndClass(entry.RelativePath)!.Value;
        if (expected is not null && !expected.ClassNames.Contains(className, StringComparer.Ordinal))
            throw new DataFormatException(
                $"{entry.Location}: unknown class folder '{className}'; expected one of {string.Join(", ", expected.ClassNames)} ({expected.Title}).");
        _images.Add(new Image(split, className, entry.RelativePath));
    }

    /// <summary>
    /// The second pass: decodes the next image (the source lists them in the same order both times) into its place in
    /// its split's array, which the first image's size allocates.
    /// </summary>
    public void Decode(SourceEntry entry)
    {
        _slots ??= Slots();
        if (_decoded >= _images.Count || _images[_decoded].Path != entry.RelativePath)
            throw new DataFormatException($"{entry.Location}: the source changed while it was read (its images are not those listed a moment before); read it again.");
        var image = _images[_decoded];
        var (rgb, width, height) = ImageFile.Decode(entry.ReadAll(), entry.Location, MaxPixels);
        byte[] pixels = options.Grayscale ? ImageFile.Luma(rgb) : rgb;
        if (options.Resizes)
        {
            pixels = ImageResize.Bilinear(pixels, height, width, options.Channels, options.Height!.Value, options.Width!.Value);
        }
        else if (_firstSize is not { } first)
        {
            _firstSize = (width, height, entry.Location);
        }
        else if (first.Width != width || first.Height != height)
        {
            throw new DataFormatException(
                $"{entry.Location}: {width}x{height} pixels, but {first.Location} is {first.Width}x{first.Height}; the images must share one size, or pass --image-size H,W to resize them all.");
        }
        if (_splits.Count == 0)
        {
            foreach (string split in new[] { "train", "test" })
            {
                int count = _images.Count(i => i.Split == split);
                _splits[split] = (new byte[(long)count * pixels.Length], new byte[count]);
            }
        }
        var (splitPixels, labels) = _splits[image.Split];
        var (place, label) = _slots[_decoded];
        pixels.CopyTo(splitPixels, (long)place * pixels.Length);
        labels[place] = label;
        _decoded++;
    }

    /// <summary>
    /// Sets the classes, and gives each image its index in its split (by label, then path) and its label; a class
    /// train/ does not have sorts last with label 0, and is refused when the set is built.
    /// </summary>
    (int Place, byte Label)[] Slots()
    {
        _classes = expected is not null
            ? [.. expected.ClassNames]
            : _images.Where(i => i.Split == "train").Select(i => i.Class).Distinct().Order(StringComparer.Ordinal).ToList();
        var label = _classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        int LabelOf(Image image) => label.TryGetValue(image.Class, out int index) ? index : int.MaxValue;
        var slots = new (int Place, byte Label)[_images.Count];
        foreach (var split in _images.Select((image, index) => (image, index)).GroupBy(p => p.image.Split))
        {
            int place = 0;
            foreach (var (image, index) in split.OrderBy(p => LabelOf(p.image)).ThenBy(p => p.image.Path, StringComparer.Ordinal))
            {
                int imageLabel = LabelOf(image);
                slots[index] = (place++, (byte)(imageLabel == int.MaxValue ? 0 : imageLabel));
            }
        }
        return slots;
    }

    public Dataset Build(string source)
    {
        if (_decoded != _images.Count)
            throw new DataFormatException($"{source}: the source changed while it was read ({_decoded} of the {_images.Count} images listed were found again); read it again.");
        var shape = options.Resizes
            ? new ImageShape(options.Height!.Value, options.Width!.Value, options.Channels)
            : new ImageShape(_firstSize!.Value.Height, _firstSize.Value.Width, options.Channels);
        if (expected is not null && shape != expected.Shape)
            throw new DataFormatException($"{source}: images of {shape}; {expected.Title} images are {expected.Shape}.");
        if (expected is null && _classes.Count == 1)
            throw new DataFormatException($"{source}: the image folder has one class ('{_classes[0]}' under train/); a classifier needs two or more.");
        if (_classes.Count > 256)
            throw new DataFormatException($"{source}: {_classes.Count} class folders under train/; TwinTrain handles at most 256 classes.");
        var known = _classes.ToHashSet(StringComparer.Ordinal);
        if (_images.FirstOrDefault(i => i.Split == "test" && !known.Contains(i.Class)) is { Path: not null } stray)
            throw new DataFormatException($"{source}: '{stray.Path}' is in the class '{stray.Class}', which train/ does not have.");

        var info = expected
            ?? DatasetInfo.Known.FirstOrDefault(d => d.Shape == shape && d.ClassNames.SequenceEqual(_classes))
            ?? DatasetInfo.ImageFolder(TitleOf(source), shape, _classes);
        return new Dataset(info, Split(source, "train", info), Split(source, "test", info));
    }

    ImageSet Split(string source, string split, DatasetInfo info)
    {
        var (pixels, labels) = _splits[split];
        if (labels.Length == 0)
            throw new DataFormatException($"{source}: the '{split}' split has no images (expected {split}/<class>/*.jpg or *.png).");
        return new ImageSet(pixels, labels, info.Shape);
    }

    /// <summary>The folder's or archive's name without extensions: the data set's title in the report.</summary>
    static string TitleOf(string source)
    {
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(source)));
        return DatasetSource.ArchiveExtension(name) is { } extension ? name[..^extension.Length] : name;
    }
}
