using TwinTrain.Data.Batching;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>
/// While training, zeroes each value with probability <see cref="Rate"/> and scales the rest by 1/(1-rate), as Keras
/// does; at inference it passes values through. The mask is drawn afresh every step from (seed, step, sample), so
/// it does not depend on the thread count. Without a seed (Keras's seed=None) one is drawn from the model's seed.
/// </summary>
public sealed class Dropout : Layer
{
    readonly int? _configuredSeed;

    public Dropout(double rate, int? seed = 0, string? name = null) : base(name)
    {
        if (rate is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(rate), "The dropout rate must be in [0, 1).");
        Rate = rate;
        _configuredSeed = seed;
        Seed = seed ?? 0;
    }

    public static Layer FromConfig(LayerConfig c)
    {
        double rate = c.Double("rate", double.NaN, minimum: 0, below: 1);
        if (double.IsNaN(rate)) throw c.Error("option 'rate' is required");
        int? seed = c.IntOrNull("seed", minimum: int.MinValue);
        c.Absent("noise_shape", "only per-element masks are implemented");
        return new Dropout(rate, seed, c.Name);
    }

    public double Rate { get; }
    public int Seed { get; private set; }

    protected override void CreateWeights(Random random)
    {
        if (_configuredSeed is null) Seed = random.Next();
    }

    protected override int[] ComputeOutputShape(int[] inputShape) => inputShape;

    /// <summary>The mask of the last training forward pass, kept for the backward pass.</summary>
    internal override int ScratchSize(int batch) => batch * InputSize;

    internal override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        var values = input[..(batch * InputSize)];
        if (!context.Training || Rate == 0)
        {
            values.CopyTo(output);
            return;
        }
        float keep = (float)(1 / (1 - Rate));
        for (int n = 0; n < batch; n++)
        {
            ulong sample = (ulong)(context.FirstSample + n);
            var random = new SplitMix64(((ulong)(uint)Seed << 40) ^ ((ulong)context.Step << 20) ^ sample ^ 0xD509_0000_0000_0000UL);
            var mask = scratch.Slice(n * InputSize, InputSize);
            for (int i = 0; i < InputSize; i++) mask[i] = random.NextFloat() < Rate ? 0f : keep;
        }
        System.Numerics.Tensors.TensorPrimitives.Multiply(values, scratch[..values.Length], output[..values.Length]);
    }

    internal override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        if (inputGradient.IsEmpty) return;
        int count = batch * InputSize;
        if (Rate == 0) outputGradient[..count].CopyTo(inputGradient);
        else System.Numerics.Tensors.TensorPrimitives.Multiply(outputGradient[..count], scratch[..count], inputGradient[..count]);
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["rate"] = Rate;
        config["seed"] = _configuredSeed;
        config["noise_shape"] = null;
        return config;
    }
}
