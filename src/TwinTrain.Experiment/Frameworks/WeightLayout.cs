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
    public static IReadOnlyList<(float[] Values, long[] Shape)> ToTorchLayout(Sequential keras)
    {
        var result = new List<(float[], long[])>();
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
                    result.Add((ConvKernelToTorch(conv.Kernel.Value, kh, kw, cin, cout), [cout, cin, kh, kw]));
                    result.Add(((float[])conv.Bias.Value.Clone(), [cout]));
                    break;
                case Dense dense:
                    int inputs = layer.InputShape[0];
                    result.Add((DenseKernelToTorch(dense.Kernel.Value, inputs, dense.Units, flattenedFrom), [dense.Units, inputs]));
                    result.Add(((float[])dense.Bias.Value.Clone(), [dense.Units]));
                    flattenedFrom = null;
                    break;
            }
        }
        return result;
    }

    /// <summary>Torch-layout values (e.g. gradients, in parameter order) converted to the Keras model's layout and order.</summary>
    public static float[][] FromTorchLayout(Sequential keras, IReadOnlyList<float[]> torchValues)
    {
        var result = new List<float[]>();
        int[]? flattenedFrom = null;
        int next = 0;
        foreach (var layer in keras.Layers)
        {
            switch (layer)
            {
                case Flatten when layer.InputShape.Length == 3:
                    flattenedFrom = layer.InputShape;
                    break;
                case Conv2D conv:
                    result.Add(ConvKernelFromTorch(torchValues[next++], conv.KernelSize.Height, conv.KernelSize.Width, layer.InputShape[2], conv.Filters));
                    result.Add((float[])torchValues[next++].Clone());
                    break;
                case Dense dense:
                    result.Add(DenseKernelFromTorch(torchValues[next++], layer.InputShape[0], dense.Units, flattenedFrom));
                    result.Add((float[])torchValues[next++].Clone());
                    flattenedFrom = null;
                    break;
            }
        }
        return [.. result];
    }

    /// <summary>Copies the torch module's parameters into the Keras model.</summary>
    public static void TorchToKeras(nn.Module torchModel, Sequential keras) =>
        keras.SetWeights(FromTorchLayout(keras, torchModel.parameters().Select(p => p.data<float>().ToArray()).ToArray()));

    static float[] ConvKernelToTorch(float[] k, int kh, int kw, int cin, int cout)
    {
        var t = new float[k.Length];
        for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
                for (int i = 0; i < cin; i++)
                    for (int o = 0; o < cout; o++)
                        t[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o];
        return t;
    }

    static float[] ConvKernelFromTorch(float[] t, int kh, int kw, int cin, int cout)
    {
        var k = new float[t.Length];
        for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
                for (int i = 0; i < cin; i++)
                    for (int o = 0; o < cout; o++)
                        k[((y * kw + x) * cin + i) * cout + o] = t[((o * cin + i) * kh + y) * kw + x];
        return k;
    }

    /// <summary>The Keras input index (h, w, c order) that feeds torch input index j (c, h, w order).</summary>
    static int KerasInput(int j, int[]? flattenedFrom)
    {
        if (flattenedFrom is null) return j;
        int height = flattenedFrom[0], width = flattenedFrom[1], channels = flattenedFrom[2];
        int c = j / (height * width), h = j / width % height, w = j % width;
        return (h * width + w) * channels + c;
    }

    static float[] DenseKernelToTorch(float[] k, int inputs, int units, int[]? flattenedFrom)
    {
        var t = new float[k.Length];
        for (int u = 0; u < units; u++)
            for (int j = 0; j < inputs; j++)
                t[u * inputs + j] = k[KerasInput(j, flattenedFrom) * units + u];
        return t;
    }

    static float[] DenseKernelFromTorch(float[] t, int inputs, int units, int[]? flattenedFrom)
    {
        var k = new float[t.Length];
        for (int u = 0; u < units; u++)
            for (int j = 0; j < inputs; j++)
                k[KerasInput(j, flattenedFrom) * units + u] = t[u * inputs + j];
        return k;
    }
}
