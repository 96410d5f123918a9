using StbImageSharp;

namespace TwinTrain.Data.Formats;

/// <summary>
/// Decodes one JPEG/PNG/BMP image to interleaved RGB bytes: JPEG as libjpeg-turbo decodes it (<see cref="TurboJpeg"/>),
/// the lossless formats with StbImageSharp.
/// </summary>
public static class ImageFile
{
    /// <summary>What decodes JPEG files, for run.json.</summary>
    public static string JpegDecoder => TurboJpeg.Description;

    public static bool HasImageExtension(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png" or ".bmp";

    public static (byte[] Rgb, int Width, int Height) Decode(byte[] bytes, string location, long maxPixels = long.MaxValue)
    {
        // The decoder fills a cut-off JPEG or PNG with grey and says nothing: check the end marker first.
        if (Truncation(bytes) is { } missing)
            throw new DataFormatException($"{location}: the image is truncated (its {missing} is missing).");
        if (bytes is [0xFF, 0xD8, ..]) return TurboJpeg.Decode(bytes, location, maxPixels);
        if (maxPixels < long.MaxValue)
        {
            var info = ImageInfo.FromStream(new MemoryStream(bytes));
            if (info is { } header && (long)header.Width * header.Height > maxPixels)
                throw new DataFormatException($"{location}: the image is {header.Width}x{header.Height}, more than the {maxPixels:N0} pixels allowed; resize it first.");
        }
        ImageResult image;
        try
        {
            image = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue);
        }
        catch (Exception e)
        {
            string why = string.IsNullOrWhiteSpace(e.Message) ? "the decoder gave no reason" : e.Message;
            throw new DataFormatException($"{location}: cannot decode the image ({why}); the file is corrupt or not a JPEG/PNG/BMP.", e);
        }
        if (image?.Data is null || image.Data.Length != image.Width * image.Height * 3)
            throw new DataFormatException($"{location}: cannot decode the image; the file is corrupt or not a JPEG/PNG.");
        return (image.Data, image.Width, image.Height);
    }

    /// <summary>What a JPEG or PNG lacks at its end when it was cut short (null when whole, or another format).</summary>
    static string? Truncation(byte[] bytes)
    {
        // Some writers pad after the end marker: look for it near the end rather than only in the last bytes.
        var tail = bytes.AsSpan(Math.Max(0, bytes.Length - 64));
        if (bytes is [0xFF, 0xD8, ..]) return tail.IndexOf([(byte)0xFF, (byte)0xD9]) >= 0 ? null : "JPEG end marker";
        if (bytes is [0x89, (byte)'P', (byte)'N', (byte)'G', ..]) return tail.IndexOf("IEND"u8) >= 0 ? null : "PNG IEND chunk";
        return null;
    }

    /// <summary>
    /// Interleaved RGB to one grey channel with ITU-R 601-2 luma in 16-bit fixed point, L = (19595 R + 38470 G +
    /// 7471 B + 32768) >> 16, as Pillow's convert("L") computes it (libImaging/Convert.c, rgb2l), which torchvision's
    /// Grayscale uses; a grey image stays exactly itself.
    /// </summary>
    public static byte[] Luma(ReadOnlySpan<byte> rgb)
    {
        var grey = new byte[rgb.Length / 3];
        for (int i = 0; i < grey.Length; i++)
            grey[i] = (byte)((rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 0x8000) >> 16);
        return grey;
    }
}
