using TwinTrain.Experiment.Architectures;
using TwinTrain.Keras;

namespace TwinTrain.Experiment.Frameworks;

/// <summary>
/// Converts weight values between the Keras-style model (channels-last: conv kernels (kh, kw, in, out), dense kernels
/// (in, out)) and the PyTorch-style one (channels-first: conv weights (out, in, kh, kw), linear weights (out, in)),
/// by state_dict key as the model's <see cref="TorchTranslation"/> maps them. A dense layer after a Flatten also needs
/// its inputs permuted: Keras flattens (h, w, c), PyTorch (c, h, w). BatchNormalization's moving statistics go to
/// running_mean and running_var. Values only: each PyTorch-style framework moves them in and out of its own tensors.
/// </summary>
public static class WeightLayout
{
    /// <summary>Every Keras weight in torch layout, in Keras's order (that of <see cref="TorchTranslation.Tensors"/>).</summary>
    public static IReadOnlyList<float[]> ToTorchLayout(Sequential keras, TorchTranslation translation) =>
        translation.Tensors.Select(t =>
        {
            float[] value = keras.Weights[t.KerasWeight].Value;
            if (t.Order is null) return (float[])value.Clone();
            var result = new float[value.Length];
            for (int i = 0; i < value.Length; i++) result[t.Order[i]] = value[i];
            return result;
        }).ToList();

    /// <summary>
    /// Torch-layout values of the trainable weights (e.g. gradients, in torch parameter order, which is Keras's
    /// trainable order) converted to the Keras model's layout.
    /// </summary>
    public static float[][] FromTorchLayout(Sequential keras, TorchTranslation translation, IReadOnlyList<float[]> torchParameters)
    {
        var trainable = translation.Tensors.Where(t => keras.Weights[t.KerasWeight].Trainable).ToArray();
        if (trainable.Length != torchParameters.Count)
            throw new ArgumentException($"{torchParameters.Count} torch parameters for {trainable.Length} trainable Keras weights.");
        return trainable.Select((t, i) => Reorder(torchParameters[i], t.Order)).ToArray();
    }

    /// <summary>Torch-layout values of every weight (parameters and buffers, in <see cref="TorchTranslation.Tensors"/>' order) in the Keras model's layout.</summary>
    public static float[][] FromTorchLayout(TorchTranslation translation, IReadOnlyList<float[]> torchValues) =>
        [.. translation.Tensors.Select((t, i) => Reorder(torchValues[i], t.Order))];

    /// <summary>Torch-layout values in the Keras layout, by a <see cref="TorchTensor.Order"/> (null: the same order; a copy either way).</summary>
    public static T[] Reorder<T>(T[] torchValues, int[]? order)
    {
        if (order is null) return (T[])torchValues.Clone();
        var keras = new T[torchValues.Length];
        for (int i = 0; i < keras.Length; i++) keras[i] = torchValues[order[i]];
        return keras;
    }
}
