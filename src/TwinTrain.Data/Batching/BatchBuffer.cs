namespace TwinTrain.Data.Batching;

/// <summary>Memory layout of a batch of images.</summary>
public enum ImageLayout
{
    /// <summary>Batch, height, width, channels: Keras's channels-last.</summary>
    Nhwc,
    /// <summary>Batch, channels, height, width: PyTorch's channels-first.</summary>
    Nchw,
}

/// <summary>
/// Turns stored bytes into network inputs: float32 through per-channel lookup tables (scaling, normalisation),
/// in the chosen layout. Allocates nothing per call.
/// </summary>
public sealed class PixelConverter(ImageLayout layout, Preprocessing? preprocessing = null)
{
    readonly Preprocessing _preprocessing = preprocessing ?? Preprocessing.UnitScale;
    float[][]? _tables;

    public ImageLayout Layout { get; } = layout;

    /// <summary>Writes the images at <paramref name="indices"/> one after another into <paramref name="inputs"/>.</summary>
    public void Fill(ImageSet set, ReadOnlySpan<int> indices, Span<float> inputs)
    {
        var shape = set.Shape;
        if (_tables is null || _tables.Length != shape.Channels) _tables = _preprocessing.LookupTables(shape.Channels);
        if (shape.Channels != 3)
        {
            FillAnyChannels(set, indices, inputs, _tables);
            return;
        }
        int plane = shape.Height * shape.Width;
        float[] red = _tables[0], green = _tables[1], blue = _tables[2];
        for (int b = 0; b < indices.Length; b++)
        {
            var source = set.Image(indices[b]);
            var target = inputs.Slice(b * shape.Pixels, shape.Pixels);
            if (Layout == ImageLayout.Nhwc)
            {
                for (int p = 0; p < plane; p++)
                {
                    target[3 * p] = red[source[3 * p]];
                    target[3 * p + 1] = green[source[3 * p + 1]];
                    target[3 * p + 2] = blue[source[3 * p + 2]];
                }
            }
            else
            {
                for (int p = 0; p < plane; p++)
                {
                    target[p] = red[source[3 * p]];
                    target[plane + p] = green[source[3 * p + 1]];
                    target[2 * plane + p] = blue[source[3 * p + 2]];
                }
            }
        }
    }

    /// <summary>The same for any channel count (one for grey images): channels-last bytes to either layout.</summary>
    void FillAnyChannels(ImageSet set, ReadOnlySpan<int> indices, Span<float> inputs, float[][] tables)
    {
        var shape = set.Shape;
        int plane = shape.Height * shape.Width, channels = shape.Channels;
        // Where pixel p of channel c goes: channels last it is p * channels + c, channels first c * plane + p.
        var (pixelStride, channelStride) = Layout == ImageLayout.Nhwc ? (channels, 1) : (1, plane);
        for (int b = 0; b < indices.Length; b++)
        {
            var source = set.Image(indices[b]);
            var target = inputs.Slice(b * shape.Pixels, shape.Pixels);
            for (int c = 0; c < channels; c++)
            {
                float[] table = tables[c];
                for (int p = 0; p < plane; p++) target[p * pixelStride + c * channelStride] = table[source[p * channels + c]];
            }
        }
    }
}

/// <summary>
/// A reusable batch: inputs as float32 in the chosen layout and labels, filled from an <see cref="ImageSet"/> for a
/// list of sample indices. The buffers are allocated once; filling allocates nothing.
/// </summary>
public sealed class BatchBuffer
{
    readonly PixelConverter _converter;

    public BatchBuffer(int capacity, ImageLayout layout, Preprocessing? preprocessing = null, ImageShape? shape = null)
    {
        Capacity = capacity;
        Layout = layout;
        Shape = shape ?? ImageShape.Cifar;
        Inputs = new float[capacity * Shape.Pixels];
        Labels = new long[capacity];
        _converter = new PixelConverter(layout, preprocessing);
    }

    public int Capacity { get; }
    public ImageLayout Layout { get; }
    /// <summary>The shape of the images the buffer holds.</summary>
    public ImageShape Shape { get; }
    public float[] Inputs { get; }
    public long[] Labels { get; }
    public int Count { get; private set; }

    public void Fill(ImageSet set, ReadOnlySpan<int> indices)
    {
        if (indices.Length > Capacity) throw new ArgumentException($"{indices.Length} samples do not fit a batch of {Capacity}.");
        if (set.Shape != Shape) throw new ArgumentException($"Images of {set.Shape} do not fit a batch of {Shape}.");
        _converter.Fill(set, indices, Inputs);
        for (int b = 0; b < indices.Length; b++) Labels[b] = set.Labels[indices[b]];
        Count = indices.Length;
    }
}
