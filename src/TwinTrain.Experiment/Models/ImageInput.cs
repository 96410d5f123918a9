using TwinTrain.Data;
using TwinTrain.Data.Formats;

namespace TwinTrain.Experiment.Models;

/// <summary>Any PNG or JPEG brought to CIFAR-10's 32x32 RGB, for prediction.</summary>
public static class ImageInput
{
    /// <summary>
    /// Decodes the file and resizes it to 32x32 by area averaging (each output pixel is the mean of the source
    /// pixels it covers, weighted by overlap): no aliasing when shrinking a photo; an image smaller than 32x32 is
    /// enlarged blockwise (each output pixel takes the source pixels under it). The aspect ratio is not kept, as
    /// CIFAR-10's images are square crops.
    /// </summary>
    public static byte[] LoadAs32x32(string path)
    {
        byte[] bytes;
        try
        {
            // A FIFO or a device reports no size: refused before it is opened, so it can neither hang nor flood memory.
            long length = Data.Sources.DatasetSource.SizeOfRegularFile(path);
            if (length > MaxFileBytes) throw new DataFormatException($"{path}: {length:N0} bytes, more than the {MaxFileBytes:N0} an image may have here.");
            bytes = Data.Sources.DatasetSource.ReadFile(path, MaxFileBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read the file ({e.Message}).", e);
        }
        var (rgb, width, height) = ImageFile.Decode(bytes, path, MaxPixels);
        return Resize(rgb, width, height, CifarClasses.Width, CifarClasses.Height);
    }

    /// <summary>The largest image decoded for prediction: 50 megapixels (150 MB of RGB), far beyond any photo a user resizes to 32x32.</summary>
    public const long MaxPixels = 50_000_000, MaxFileBytes = 256L << 20;

    public static byte[] Resize(byte[] rgb, int width, int height, int targetWidth, int targetHeight)
    {
        var result = new byte[targetWidth * targetHeight * 3];
        double sx = (double)width / targetWidth, sy = (double)height / targetHeight;
        for (int ty = 0; ty < targetHeight; ty++)
        {
            double y0 = ty * sy, y1 = (ty + 1) * sy;
            for (int tx = 0; tx < targetWidth; tx++)
            {
                double x0 = tx * sx, x1 = (tx + 1) * sx;
                double r = 0, g = 0, b = 0, total = 0;
                for (int y = (int)y0; y < Math.Min(height, (int)Math.Ceiling(y1)); y++)
                {
                    double wy = Math.Min(y + 1, y1) - Math.Max(y, y0);
                    for (int x = (int)x0; x < Math.Min(width, (int)Math.Ceiling(x1)); x++)
                    {
                        double w = wy * (Math.Min(x + 1, x1) - Math.Max(x, x0));
                        int at = (y * width + x) * 3;
                        r += w * rgb[at];
                        g += w * rgb[at + 1];
                        b += w * rgb[at + 2];
                        total += w;
                    }
                }
                int o = (ty * targetWidth + tx) * 3;
                result[o] = (byte)Math.Round(r / total);
                result[o + 1] = (byte)Math.Round(g / total);
                result[o + 2] = (byte)Math.Round(b / total);
            }
        }
        return result;
    }
}
