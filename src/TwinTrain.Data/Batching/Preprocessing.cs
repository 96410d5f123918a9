namespace TwinTrain.Data.Batching;

/// <summary>
/// How bytes become network inputs: x / 255 by default, optionally followed by (x - mean) / std per channel.
/// </summary>
public sealed record Preprocessing(float[]? Mean = null, float[]? Std = null)
{
    public static Preprocessing UnitScale { get; } = new();

    /// <summary>The usual CIFAR-10 per-channel statistics of the training set (on the [0,1] scale).</summary>
    public static Preprocessing CifarNormalized { get; } =
        new([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);

    /// <summary>
    /// A lookup table per channel from byte to float, so converting a batch is one load per value; without
    /// normalisation one table serves every channel.
    /// </summary>
    public float[][] LookupTables(int channels)
    {
        if (Mean is not null && (Mean.Length != channels || Std?.Length != channels))
            throw new ArgumentException($"The normalisation has {Mean.Length} channels but the images have {channels}.");
        var tables = new float[channels][];
        for (int c = 0; c < channels; c++)
        {
            tables[c] = new float[256];
            for (int v = 0; v < 256; v++)
            {
                float x = v / 255f;
                if (Mean is not null && Std is not null) x = (x - Mean[c]) / Std[c];
                tables[c][v] = x;
            }
        }
        return tables;
    }
}
