using StbImageSharp;

namespace TwinTrain.Data.Formats;

/// <summary>Decodes one JPEG/PNG/BMP image to interleaved RGB bytes.</summary>
public static class ImageFile
{
    public static bool HasImageExtension(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png" or ".bmp";

    public static (byte[] Rgb, int Width, int Height) Decode(byte[] bytes, string location)
    {
        ImageResult image;
        try
        {
            image = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue);
        }
        catch (Exception e)
        {
            throw new DataFormatException($"{location}: cannot decode the image ({e.Message}); the file is corrupt or not a JPEG/PNG.", e);
        }
        if (image?.Data is null || image.Data.Length != image.Width * image.Height * 3)
            throw new DataFormatException($"{location}: cannot decode the image; the file is corrupt or not a JPEG/PNG.");
        return (image.Data, image.Width, image.Height);
    }

    /// <summary>Decodes a CIFAR-10 image, which must be exactly 32x32 RGB (colour or grey, converted to RGB).</summary>
    public static byte[] DecodeCifar(byte[] bytes, string location)
    {
        var (rgb, width, height) = Decode(bytes, location);
        if (width != CifarClasses.Width || height != CifarClasses.Height)
            throw new DataFormatException($"{location}: image is {width}x{height}; CIFAR-10 images are 32x32.");
        return rgb;
    }
}
