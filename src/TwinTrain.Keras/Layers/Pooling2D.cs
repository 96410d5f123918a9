namespace TwinTrain.Keras.Layers;

/// <summary>What the 2-D pooling layers share: pool size, strides (default: the pool size), "valid" padding.</summary>
public abstract class Pooling2D : Layer
{
    protected Pooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides, string? name) : base(name)
    {
        if (poolSize.Height < 1 || poolSize.Width < 1) throw new ArgumentOutOfRangeException(nameof(poolSize), "The pool must be at least 1x1.");
        PoolSize = poolSize;
        Strides = strides ?? poolSize;
    }

    public (int Height, int Width) PoolSize { get; }
    public (int Height, int Width) Strides { get; }

    protected override int[] ComputeOutputShape(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw ShapeError(inputShape, $"{GetType().Name} expects images of rank 3 (height, width, channels).");
        int rows = (inputShape[0] - PoolSize.Height) / Strides.Height + 1;
        int columns = (inputShape[1] - PoolSize.Width) / Strides.Width + 1;
        if (inputShape[0] < PoolSize.Height || inputShape[1] < PoolSize.Width) throw ShapeError(inputShape, "the pool is larger than the image.");
        return [rows, columns, inputShape[2]];
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["pool_size"] = new[] { PoolSize.Height, PoolSize.Width };
        config["strides"] = new[] { Strides.Height, Strides.Width };
        config["padding"] = "valid";
        return config;
    }
}
