namespace TwinTrain.Data.Formats;

/// <summary>
/// Bilinear resizing with half-pixel centres and no antialiasing, as tf.image.resize(method="bilinear") computes it
/// (Keras's image_dataset_from_directory default; TensorFlow's resize_bilinear_op.cc with HalfPixelScaler): in
/// float32, output pixel y samples the input at (y + 0.5) * (inHeight / outHeight) - 0.5, between
/// max(floor(at), 0) and min(ceil(at), inHeight - 1), top and bottom interpolated along x first. torch's
/// interpolate(mode="bilinear", align_corners=False) samples the same points. Rounded to the nearest byte (halves
/// away from zero), since TwinTrain keeps bytes where Keras keeps the floats.
/// </summary>
public static class ImageResize
{
    public static byte[] Bilinear(byte[] pixels, int height, int width, int channels, int outHeight, int outWidth)
    {
        if (height == outHeight && width == outWidth) return pixels;
        var rows = Taps(height, outHeight);
        var columns = Taps(width, outWidth);
        var result = new byte[outHeight * outWidth * channels];
        for (int y = 0; y < outHeight; y++)
        {
            var (top, bottom, dy) = rows[y];
            for (int x = 0; x < outWidth; x++)
            {
                var (left, right, dx) = columns[x];
                for (int c = 0; c < channels; c++)
                {
                    float topLeft = pixels[(top * width + left) * channels + c], topRight = pixels[(top * width + right) * channels + c];
                    float bottomLeft = pixels[(bottom * width + left) * channels + c], bottomRight = pixels[(bottom * width + right) * channels + c];
                    float upper = topLeft + (topRight - topLeft) * dx;
                    float lower = bottomLeft + (bottomRight - bottomLeft) * dx;
                    float value = upper + (lower - upper) * dy;
                    result[(y * outWidth + x) * channels + c] = (byte)Math.Clamp(MathF.Round(value, MidpointRounding.AwayFromZero), 0, 255);
                }
            }
        }
        return result;
    }

    /// <summary>For each output index, the two input indices it lies between and the weight of the second.</summary>
    static (int Low, int High, float Weight)[] Taps(int inSize, int outSize)
    {
        float scale = (float)inSize / outSize;
        var taps = new (int, int, float)[outSize];
        for (int o = 0; o < outSize; o++)
        {
            float at = (o + 0.5f) * scale - 0.5f;
            float floor = MathF.Floor(at);
            taps[o] = (Math.Max((int)floor, 0), Math.Min((int)MathF.Ceiling(at), inSize - 1), at - floor);
        }
        return taps;
    }
}
