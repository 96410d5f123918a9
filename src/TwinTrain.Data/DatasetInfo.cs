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

    /// <summary>The data sets --dataset names.</summary>
    public static IReadOnlyList<DatasetInfo> Known { get; } = [Cifar10, FashionMnist, Mnist];

    public static DatasetInfo? Named(string name) => Known.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The data set a run recorded by name; one this TwinTrain does not know is an error naming the ones it does.</summary>
    public static DatasetInfo Recorded(string name) => Named(name)
        ?? throw new DataFormatException($"the run records the data set '{name}', which this TwinTrain does not know ({string.Join(", ", Known.Select(d => d.Name))}).");

    public bool Equals(DatasetInfo? other) =>
        other is not null && Name == other.Name && Shape == other.Shape && ClassNames.SequenceEqual(other.ClassNames);

    public override int GetHashCode() => HashCode.Combine(Name, Shape, ClassNames.Count);
}
