using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>
/// What the 2-D pooling layers share: pool size (default 2x2), strides (default: the pool size), and "valid" or
/// "same" padding as TensorFlow computes it (windows past the image's edge cover only what lies inside).
/// </summary>
public abstract class Pooling2D : Layer
{
    readonly bool _same;

    protected Pooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides, string? name, string padding = "valid") : base(name)
    {
        if (poolSize.Height < 1 || poolSize.Width < 1) throw new ArgumentOutOfRangeException(nameof(poolSize), "The pool must be at least 1x1.");
        PoolSize = poolSize;
        Strides = strides ?? poolSize;
        if (Strides.Height < 1 || Strides.Width < 1) throw new ArgumentOutOfRangeException(nameof(strides), "Strides must be at least 1.");
        Padding = padding.ToLowerInvariant();
        _same = Layers.Padding.IsSame(padding);
    }

    /// <summary>Keras's pooling arguments: pool_size, strides (null: the pool size), padding, data_format.</summary>
    protected static ((int, int) PoolSize, (int, int) Strides, string Padding) ReadConfig(LayerConfig c)
    {
        var pool = c.Pair("pool_size", (2, 2));
        var strides = c.PairOrNull("strides", pool);
        string padding = c.String("padding", "valid", "valid", "same");
        c.Only("data_format", "channels_last", "only channels_last");
        return (pool, strides, padding);
    }

    public (int Height, int Width) PoolSize { get; }
    public (int Height, int Width) Strides { get; }
    public string Padding { get; }

    /// <summary>Rows and columns of padding before the first window ('same' only; what is past the image is not pooled).</summary>
    public int PadTop { get; private set; }
    public int PadLeft { get; private set; }

    /// <summary>Whether every window lies wholly inside the image.</summary>
    protected bool Unpadded => PadTop == 0 && PadLeft == 0
        && (OutputShape[0] - 1) * Strides.Height + PoolSize.Height <= InputShape[0]
        && (OutputShape[1] - 1) * Strides.Width + PoolSize.Width <= InputShape[1];

    protected override int[] ComputeOutputShape(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw ShapeError(inputShape, $"{LayerRegistry.ClassName(GetType())} expects images of rank 3 (height, width, channels).");
        if (!_same && (inputShape[0] < PoolSize.Height || inputShape[1] < PoolSize.Width)) throw ShapeError(inputShape, "the pool is larger than the image.");
        var rows = Layers.Padding.Along(inputShape[0], PoolSize.Height, Strides.Height, _same);
        var columns = Layers.Padding.Along(inputShape[1], PoolSize.Width, Strides.Width, _same);
        PadTop = rows.Before;
        PadLeft = columns.Before;
        return [rows.Output, columns.Output, inputShape[2]];
    }

    /// <summary>The window of output (oy, ox), clipped to the image: first row and column, and how many of each.</summary>
    protected (int Row, int Rows, int Column, int Columns) Window(int oy, int ox)
    {
        int top = oy * Strides.Height - PadTop, left = ox * Strides.Width - PadLeft;
        int row = Math.Max(top, 0), column = Math.Max(left, 0);
        int rows = Math.Min(top + PoolSize.Height, InputShape[0]) - row, columns = Math.Min(left + PoolSize.Width, InputShape[1]) - column;
        return (row, rows, column, columns);
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["pool_size"] = new[] { PoolSize.Height, PoolSize.Width };
        config["padding"] = Padding;
        config["strides"] = new[] { Strides.Height, Strides.Width };
        config["data_format"] = "channels_last";
        return config;
    }
}
