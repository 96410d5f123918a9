using TorchSharp;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Keras;
using static TorchSharp.torch;

namespace TwinTrain.Experiment.Frameworks;

/// <summary>
/// Converts weights between the Keras-style model (channels-last: conv kernels (kh, kw, in, out), dense kernels
/// (in, out)) and the PyTorch-style one (channels-first: conv weights (out, in, kh, kw), linear weights (out, in)),
/// by state_dict key as the model's <see cref="TorchTranslation"/> maps them. A dense layer after a Flatten also needs
/// its inputs permuted: Keras flattens (h, w, c), PyTorch (c, h, w). BatchNormalization's moving statistics go to
/// running_mean and running_var.
/// </summary>
public static class WeightLayout
{
    /// <summary>Copies every Keras weight into the torch module's state_dict (parameters and buffers).</summary>
    public static void KerasToTorch(Sequential keras, nn.Module torchModel, TorchTranslation translation)
    {
        var state = torchModel.state_dict();
        using var noGrad = no_grad();
        foreach (var (tensor, values) in translation.Tensors.Zip(ToTorchLayout(keras, translation)))
        {
            var target = state.TryGetValue(tensor.Key, out var t) ? t
                : throw new ArgumentException($"The torch model has no '{tensor.Key}'.");
            if (!target.shape.SequenceEqual(tensor.Shape))
                throw new ArgumentException($"'{tensor.Key}': torch shape ({string.Join(", ", target.shape)}) does not match ({string.Join(", ", tensor.Shape)}).");
            using var source = torch.tensor(values, tensor.Shape);
            target.copy_(source);
        }
    }

    /// <summary>Copies the torch module's state_dict into the Keras model.</summary>
    public static void TorchToKeras(nn.Module torchModel, Sequential keras, TorchTranslation translation)
    {
        var state = torchModel.state_dict();
        var values = translation.Tensors.Select(t => state.TryGetValue(t.Key, out var tensor)
            ? tensor.to_type(ScalarType.Float32).contiguous().data<float>().ToArray()
            : throw new ArgumentException($"The torch model has no '{t.Key}'.")).ToArray();
        keras.SetWeights(FromTorch(keras, translation, values));
    }

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

    static float[][] FromTorch(Sequential keras, TorchTranslation translation, float[][] torchValues) =>
        translation.Tensors.Select((t, i) => Reorder(torchValues[i], t.Order)).ToArray();

    static float[] Reorder(float[] torchValues, int[]? order)
    {
        if (order is null) return (float[])torchValues.Clone();
        var keras = new float[torchValues.Length];
        for (int i = 0; i < keras.Length; i++) keras[i] = torchValues[order[i]];
        return keras;
    }
}
