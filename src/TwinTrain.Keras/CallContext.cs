namespace TwinTrain.Keras;

/// <summary>
/// What a layer's forward pass may need beyond its input: whether it is training, the optimizer step, and the
/// position of the first sample in the whole batch (so per-sample randomness, as in Dropout, does not depend on how
/// the batch was split across threads).
/// </summary>
internal readonly record struct CallContext(bool Training, long Step = 0, int FirstSample = 0)
{
    public static CallContext Inference => new(false);
}
