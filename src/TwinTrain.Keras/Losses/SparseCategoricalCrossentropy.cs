namespace TwinTrain.Keras.Losses;

/// <summary>
/// Cross-entropy against integer class labels, as Keras's sparse_categorical_crossentropy. With
/// <see cref="FromLogits"/> the model outputs are logits; without, probabilities (then, as in Keras, values are clipped
/// to [1e-7, 1 - 1e-7] before the log). A final softmax layer is fused with this loss into the stable log-softmax form,
/// which is what Keras does too when the probabilities come straight from a softmax.
/// </summary>
public sealed class SparseCategoricalCrossentropy(bool fromLogits = false)
{
    public const float Epsilon = 1e-7f;

    public bool FromLogits { get; } = fromLogits;

    public string Name => "sparse_categorical_crossentropy";

    /// <summary>
    /// Loss of one sample from its logits, with d(loss)/d(logits) scaled by <paramref name="scale"/> (1 / batch size)
    /// written to <paramref name="gradient"/>. Returns the loss and whether the top logit is the label.
    /// </summary>
    public static (double Loss, bool Correct) FromLogitsRow(ReadOnlySpan<float> logits, int label, float scale, Span<float> gradient)
    {
        float max = float.NegativeInfinity;
        int best = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (logits[i] > max) { max = logits[i]; best = i; }
        }
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += Math.Exp(logits[i] - max);
        double logSum = Math.Log(sum);
        for (int i = 0; i < logits.Length; i++)
            gradient[i] = (float)(Math.Exp(logits[i] - max - logSum) * scale) - (i == label ? scale : 0f);
        return (logSum - (logits[label] - max), best == label);
    }

    /// <summary>The same from probabilities (no fused softmax): loss −log(clip(p[label])).</summary>
    public static (double Loss, bool Correct) FromProbabilitiesRow(ReadOnlySpan<float> probabilities, int label, float scale, Span<float> gradient)
    {
        int best = 0;
        for (int i = 1; i < probabilities.Length; i++) if (probabilities[i] > probabilities[best]) best = i;
        float p = probabilities[label];
        float clipped = Math.Clamp(p, Epsilon, 1 - Epsilon);
        gradient.Clear();
        if (p == clipped) gradient[label] = -scale / p;
        return (-Math.Log(clipped), best == label);
    }
}
