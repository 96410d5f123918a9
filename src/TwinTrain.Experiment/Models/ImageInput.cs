using TwinTrain.Data;
using TwinTrain.Data.Formats;

namespace TwinTrain.Experiment.Models;

/// <summary>Any PNG or JPEG brought to a model's image shape (size and channels), for prediction.</summary>
public static class ImageInput
{
    /// <summary>
    /// Decodes the file, makes it grey for a one-channel model (Pillow's convert("L") luma, as image folders are made)
    /// and resizes it to the model's size by area averaging (each output pixel is the mean of the source pixels it
    /// covers, weighted by overlap): no aliasing when shrinking a photo; a smaller image is enlarged blockwise (each
    /// output pixel takes the source pixels under it). The aspect ratio is not kept, as the data sets' images are
    /// square crops.
    /// </summary>
    public static byte[] Load(string path, ImageShape shape)
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
        if (shape.Channels is not (1 or 3)) throw new DataFormatException($"{path}: the model takes images of {shape.Channels} channels; images are read as 1 (grey) or 3 (RGB).");
        return Resize(shape.Channels == 1 ? ImageFile.Luma(rgb) : rgb, width, height, shape.Width, shape.Height, shape.Channels);
    }

    /// <summary>The largest image decoded for prediction: 50 megapixels (150 MB of RGB), far beyond any photo a user resizes to 32x32.</summary>
    public const long MaxPixels = 50_000_000, MaxFileBytes = 256L << 20;

    public static byte[] Resize(byte[] pixels, int width, int height, int targetWidth, int targetHeight, int channels = 3)
    {
        if (channels is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 to 4 channels");
        var result = new byte[targetWidth * targetHeight * channels];
        double sx = (double)width / targetWidth, sy = (double)height / targetHeight;
        Span<double> sums = stackalloc double[channels];
        for (int ty = 0; ty < targetHeight; ty++)
        {
            double y0 = ty * sy, y1 = (ty + 1) * sy;
            for (int tx = 0; tx < targetWidth; tx++)
            {
                double x0 = tx * sx, x1 = (tx + 1) * sx;
                sums.Clear();
                double total = 0;
                for (int y = (int)y0; y < Math.Min(height, (int)Math.Ceiling(y1)); y++)
                {
                    double wy = Math.Min(y + 1, y1) - Math.Max(y, y0);
                    for (int x = (int)x0; x < Math.Min(width, (int)Math.Ceiling(x1)); x++)
                    {
                        double w = wy * (Math.Min(x + 1, x1) - Math.Max(x, x0));
                        int at = (y * width + x) * channels;
                        for (int c = 0; c < channels; c++) sums[c] += w * pixels[at + c];
                        total += w;
                    }
                }
                int o = (ty * targetWidth + tx) * channels;
                for (int c = 0; c < channels; c++) result[o + c] = (byte)Math.Round(sums[c] / total);
            }
        }
        return result;
    }
}
