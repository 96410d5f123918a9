namespace TwinTrain.Data.Batching;

/// <summary>The order samples are visited in each epoch: a Fisher-Yates shuffle seeded by (seed, epoch).</summary>
public static class EpochOrder
{
    public static void Fill(Span<int> order, int seed, int epoch, bool shuffle = true)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!shuffle) return;
        var random = new SplitMix64(((ulong)(uint)seed << 32) ^ (uint)epoch ^ 0x5EED_0000_0000_0000UL);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    public static int[] Create(int count, int seed, int epoch, bool shuffle = true)
    {
        var order = new int[count];
        Fill(order, seed, epoch, shuffle);
        return order;
    }
}
