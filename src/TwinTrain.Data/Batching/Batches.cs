namespace TwinTrain.Data.Batching;

/// <summary>
/// One epoch's batches over an <see cref="ImageSet"/>, in the order given by (seed, epoch), filled into one reused
/// <see cref="BatchBuffer"/>. The last batch may be smaller.
/// </summary>
public sealed class Batches
{
    readonly int[] _order;

    public Batches(ImageSet set, int batchSize, ImageLayout layout, Preprocessing? preprocessing = null)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), "The batch size must be positive.");
        Set = set;
        _order = new int[set.Count];
        Buffer = new BatchBuffer(batchSize, layout, preprocessing, set.Shape);
    }

    public ImageSet Set { get; }
    public BatchBuffer Buffer { get; }
    public int BatchSize => Buffer.Capacity;
    public int SampleCount => Set.Count;
    public int BatchCount => (Set.Count + BatchSize - 1) / BatchSize;

    /// <summary>Sets the sample order for an epoch: shuffled from (seed, epoch), or the stored order.</summary>
    public void StartEpoch(int seed, int epoch, bool shuffle = true) => EpochOrder.Fill(_order, seed, epoch, shuffle);

    /// <summary>Fills <see cref="Buffer"/> with batch <paramref name="index"/> of the current epoch.</summary>
    public BatchBuffer Load(int index)
    {
        int start = index * BatchSize;
        Buffer.Fill(Set, _order.AsSpan(start, Math.Min(BatchSize, Set.Count - start)));
        return Buffer;
    }
}
