namespace TwinTrain.Data;

/// <summary>CIFAR-10's fixed geometry and class names, in the official label order 0..9.</summary>
public static class CifarClasses
{
    public const int Height = 32;
    public const int Width = 32;
    public const int Channels = 3;
    public const int PixelsPerImage = Height * Width * Channels;

    public static IReadOnlyList<string> Names { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    public static int Count => Names.Count;

    public static int IndexOf(string name)
    {
        for (int i = 0; i < Names.Count; i++)
        {
            if (string.Equals(Names[i], name, StringComparison.OrdinalIgnoreCase)) return i;
        }
        return -1;
    }
}
