using TorchSharp;
using TwinTrain.Keras;
using TwinTrain.Keras.Layers;
using static TorchSharp.torch;

namespace TwinTrain.Experiment.Frameworks;

/// <summary>
/// Converts weights between the Keras-style model (channels-last: conv kernels (kh, kw, in, out), dense kernels
/// (in, out)) and the PyTorch-style one (channels-first: conv weights (out, in, kh, kw), linear weights (out, in)).
/// The first dense layer after a Flatten also needs its inputs permuted: Keras flattens (h, w, c), PyTorch (c, h, w).
/// </summary>
public static class WeightLayout
{
    /// <summary>Copies the Keras model's weights into the torch module's parameters (same architecture, same order).</summary>
    public static void KerasToTorch(Sequential keras, nn.Module torchModel)
    {
        var parameters = torchModel.parameters().ToArray();
        var converted = ToTorchLayout(keras);
        if (parameters.Length != converted.Count)
            throw new ArgumentException($"The torch model has {parameters.Length} parameters; the Keras model {converted.Count}.");
        using var noGrad = no_grad();
        for (int i = 0; i < parameters.Length; i++)
        {
            var (values, shape) = converted[i];
            if (!parameters[i].shape.SequenceEqual(shape))
                throw new ArgumentException($"Parameter {i}: torch shape ({string.Join(", ", parameters[i].shape)}) does not match ({string.Join(", ", shape)}).");
            using var source = tensor(values, shape);
            parameters[i].copy_(source);
        }
    }

    /// <summary>The Keras model's weights in torch layout, with their torch shapes, in parameter order.</summary>
    public static IReadOnlyList<(float[] Values, long[] Shape)> ToTorchLayout(Sequential keras) =>
        keras.Weights.Zip(Plan(keras), (w, plan) => (plan.Order is null ? (float[])w.Value.Clone() : ToTorch(w.Value, plan.Order), plan.Shape)).ToList();

    /// <summary>Torch-layout values (e.g. gradients, in parameter order) converted to the Keras model's layout and order.</summary>
    public static float[][] FromTorchLayout(Sequential keras, IReadOnlyList<float[]> torchValues) =>
        Plan(keras).Select((plan, i) => plan.Order is null ? (float[])torchValues[i].Clone() : FromTorch(torchValues[i], plan.Order)).ToArray();

    /// <summary>
    /// For each Keras weight in model order: the torch shape, and the map from Keras index to torch index (null where
    /// the layouts agree, as for biases).
    /// </summary>
    static List<(int[]? Order, long[] Shape)> Plan(Sequential keras)
    {
        var plan = new List<(int[]?, long[])>();
        int[]? flattenedFrom = null;
        foreach (var layer in keras.Layers)
        {
            switch (layer)
            {
                case Flatten when layer.InputShape.Length == 3:
                    flattenedFrom = layer.InputShape;
                    break;
                case Conv2D conv:
                    var (kh, kw, cin, cout) = (conv.KernelSize.Height, conv.KernelSize.Width, layer.InputShape[2], conv.Filters);
                    plan.Add((ConvOrder(kh, kw, cin, cout), [cout, cin, kh, kw]));
                    plan.Add((null, [cout]));
                    break;
                case Dense dense:
                    int inputs = layer.InputShape[0];
                    plan.Add((DenseOrder(inputs, dense.Units, flattenedFrom), [dense.Units, inputs]));
                    plan.Add((null, [dense.Units]));
                    flattenedFrom = null;
                    break;
            }
        }
        return plan;
    }

    /// <summary>Copies the torch module's parameters into the Keras model.</summary>
    public static void TorchToKeras(nn.Module torchModel, Sequential keras) =>
        keras.SetWeights(FromTorchLayout(keras, torchModel.parameters().Select(p => p.data<float>().ToArray()).ToArray()));

    /// <summary>For each Keras conv-kernel index ((ky, kx, in, out) order), the torch index ((out, in, ky, kx) order).</summary>
    static int[] ConvOrder(int kh, int kw, int cin, int cout)
    {
        var order = new int[kh * kw * cin * cout];
        for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
                for (int i = 0; i < cin; i++)
                    for (int o = 0; o < cout; o++)
                        order[((y * kw + x) * cin + i) * cout + o] = ((o * cin + i) * kh + y) * kw + x;
        return order;
    }

    /// <summary>
    /// For each Keras dense-kernel index ((in, out) order), the torch index ((out, in) order), where a Flatten of
    /// (h, w, c) before the layer makes Keras's input h*W*C + w*C + c torch's input c*H*W + h*W + w.
    /// </summary>
    static int[] DenseOrder(int inputs, int units, int[]? flattenedFrom)
    {
        var order = new int[inputs * units];
        for (int j = 0; j < inputs; j++)
        {
            int torchInput = j;
            if (flattenedFrom is [int height, int width, int channels])
            {
                int h = j / (width * channels), w = j / channels % width, c = j % channels;
                torchInput = (c * height + h) * width + w;
            }
            for (int u = 0; u < units; u++) order[j * units + u] = u * inputs + torchInput;
        }
        return order;
    }

    static float[] ToTorch(float[] keras, int[] order)
    {
        var torchValues = new float[keras.Length];
        for (int i = 0; i < keras.Length; i++) torchValues[order[i]] = keras[i];
        return torchValues;
    }

    static float[] FromTorch(float[] torchValues, int[] order)
    {
        var keras = new float[torchValues.Length];
        for (int i = 0; i < keras.Length; i++) keras[i] = torchValues[order[i]];
        return keras;
    }
}
