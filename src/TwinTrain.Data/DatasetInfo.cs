namespace TwinTrain.Data;

/// <summary>The size of one stored image: height, width and channels, bytes kept channels last.</summary>
public readonly record struct ImageShape(int Height, int Width, int Channels)
{
    public int Pixels => Height * Width * Channels;

    /// <summary>The shape of a CIFAR-10 or CIFAR-100 image.</summary>
    public static ImageShape Cifar { get; } = new(32, 32, 3);

    /// <summary>As a model's input shape, channels last (Keras's order).</summary>
    public int[] ChannelsLast => [Height, Width, Channels];

    public override string ToString() => $"{Height}x{Width}x{Channels}";
}

/// <summary>
/// What a data set is: its name, the shape of its images and its class names (label i is ClassNames[i]). Everything
/// that needs the image size or the class count reads it from here (or from a model that recorded it), never from a
/// constant.
/// </summary>
public sealed record DatasetInfo(string Name, string Title, ImageShape Shape, IReadOnlyList<string> ClassNames)
{
    public int Classes => ClassNames.Count;

    /// <summary>CIFAR-10, in the official label order.</summary>
    public static DatasetInfo Cifar10 { get; } = new("cifar10", "CIFAR-10", ImageShape.Cifar, CifarClasses.Names);

    /// <summary>MNIST's digits (keras.datasets.mnist, torchvision.datasets.MNIST).</summary>
    public static DatasetInfo Mnist { get; } = new("mnist", "MNIST", new ImageShape(28, 28, 1), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);

    /// <summary>Fashion-MNIST, class names as torchvision.datasets.FashionMNIST.classes gives them.</summary>
    public static DatasetInfo FashionMnist { get; } = new("fashion-mnist", "Fashion-MNIST", new ImageShape(28, 28, 1),
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]);

    /// <summary>CIFAR-100 with its 100 fine labels (keras.datasets.cifar100's label_mode="fine", torchvision.datasets.CIFAR100).</summary>
    public static DatasetInfo Cifar100 { get; } = new("cifar100", "CIFAR-100", ImageShape.Cifar, Cifar100Classes.Fine);

    /// <summary>CIFAR-100 with its 20 coarse labels (label_mode="coarse"): the same images, superclasses as labels.</summary>
    public static DatasetInfo Cifar100Coarse { get; } = new("cifar100-coarse", "CIFAR-100 (20 coarse classes)", ImageShape.Cifar, Cifar100Classes.Coarse);

    /// <summary>The data sets --dataset names.</summary>
    public static IReadOnlyList<DatasetInfo> Known { get; } = [Cifar10, Cifar100, Cifar100Coarse, FashionMnist, Mnist];

    /// <summary>The names --dataset accepts (CIFAR-100's coarse labels are --dataset cifar100 --labels coarse, or cifar100-coarse).</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Known.Select(d => d.Name)];

    /// <summary>The name of a data set read from a user's image folder (train/&lt;class&gt;/..., test/&lt;class&gt;/...).</summary>
    public const string ImageFolderName = "images";

    /// <summary>A user's image folder: its classes from the folder names, titled after the folder.</summary>
    public static DatasetInfo ImageFolder(string title, ImageShape shape, IReadOnlyList<string> classNames) =>
        new(ImageFolderName, title, shape, classNames);

    public bool IsImageFolder => Name == ImageFolderName;

    public static DatasetInfo? Named(string name) => Known.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// --dataset with --labels: CIFAR-100's fine (default) or coarse labels (--labels alone asks for CIFAR-100); --labels
    /// with another data set is an error.
    /// </summary>
    public static DatasetInfo? Requested(string? name, string? labels)
    {
        var named = name is null ? null : Named(name) ?? throw new ArgumentException($"--dataset: '{name}' is not one of {string.Join(", ", Names)}.");
        if (labels is null) return named;
        if (named is not null && named != Cifar100 && named != Cifar100Coarse)
            throw new ArgumentException($"--labels {labels} applies to --dataset cifar100 only (fine: 100 classes, coarse: 20).");
        return labels switch
        {
            "fine" => Cifar100,
            "coarse" => Cifar100Coarse,
            _ => throw new ArgumentException($"--labels: '{labels}' is not fine or coarse."),
        };
    }

    /// <summary>
    /// The data set a run recorded: a known one by name (checked against the recorded shape and classes when given),
    /// or an image folder from its recorded shape and class names. Anything else is one error naming what is known.
    /// </summary>
    public static DatasetInfo Recorded(string name, int[]? shape = null, IReadOnlyList<string>? classNames = null, string? title = null)
    {
        if (name == ImageFolderName)
        {
            if (shape is not [int h and > 0, int w and > 0, int c and (1 or 3)] || classNames is not { Count: > 1 and <= 256 })
                throw new DataFormatException("the run records an image-folder data set without its image shape and class names.");
            return ImageFolder(title ?? ImageFolderName, new ImageShape(h, w, c), classNames);
        }
        var known = Named(name)
            ?? throw new DataFormatException($"the run records the data set '{name}', which this TwinTrain does not know ({string.Join(", ", Names)}, or an image folder).");
        if ((shape is not null && !shape.SequenceEqual(known.Shape.ChannelsLast)) || (classNames is not null && !classNames.SequenceEqual(known.ClassNames)))
            throw new DataFormatException($"the run records '{name}' with images of {string.Join("x", shape ?? [])} and {classNames?.Count} classes, which is not {known.Title} ({known.Shape}, {known.Classes} classes).");
        return known;
    }

    public bool Equals(DatasetInfo? other) =>
        other is not null && Name == other.Name && Shape == other.Shape && ClassNames.SequenceEqual(other.ClassNames);

    public override int GetHashCode() => HashCode.Combine(Name, Shape, ClassNames.Count);
}
