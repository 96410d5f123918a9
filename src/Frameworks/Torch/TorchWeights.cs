using TorchSharp;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Keras;
using static TorchSharp.torch;

namespace TwinTrain.Frameworks.Torch;

/// <summary>Weights between the Keras-style model and a TorchSharp module, laid out by <see cref="WeightLayout"/>.</summary>
public static class TorchWeights
{
    /// <summary>Copies every Keras weight into the torch module's state_dict (parameters and buffers).</summary>
    public static void KerasToTorch(Sequential keras, nn.Module torchModel, TorchTranslation translation)
    {
        var state = torchModel.state_dict();
        using var noGrad = no_grad();
        foreach (var (tensor, values) in translation.Tensors.Zip(WeightLayout.ToTorchLayout(keras, translation)))
        {
            var target = state.TryGetValue(tensor.Key, out var t) ? t
                : throw new ArgumentException($"The torch model has no '{tensor.Key}'.");
            if (!target.shape.SequenceEqual(tensor.Shape))
                throw new ArgumentException($"'{tensor.Key}': torch shape ({string.Join(", ", target.shape)}) does not match ({string.Join(", ", tensor.Shape)}).");
            using var source = torch.tensor(values, tensor.Shape);
            target.copy_(source);
        }
    }

    /// <summary>Every weight of the torch module (its state_dict's, in the translation's order) in the Keras model's layout.</summary>
    public static float[][] InKerasLayout(nn.Module torchModel, TorchTranslation translation)
    {
        var state = torchModel.state_dict();
        var values = translation.Tensors.Select(t => state.TryGetValue(t.Key, out var tensor)
            ? tensor.to_type(ScalarType.Float32).contiguous().data<float>().ToArray()
            : throw new ArgumentException($"The torch model has no '{t.Key}'.")).ToArray();
        return WeightLayout.FromTorchLayout(translation, values);
    }

    /// <summary>Copies the torch module's state_dict into the Keras model.</summary>
    public static void TorchToKeras(nn.Module torchModel, Sequential keras, TorchTranslation translation) =>
        keras.SetWeights(InKerasLayout(torchModel, translation));
}
