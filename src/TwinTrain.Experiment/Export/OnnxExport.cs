using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Models;
using TwinTrain.Keras;
using TwinTrain.Keras.Layers;

namespace TwinTrain.Experiment.Export;

/// <summary>
/// Exports a trained model of either framework to ONNX (opset 13): Conv, BatchNormalization, Relu, MaxPool,
/// AveragePool, GlobalAveragePool, Flatten, Gemm and Softmax, following the model's architecture layer by layer.
/// Inside the graph everything runs channels-first with the weights in PyTorch's layout. Inputs are shaped as each
/// framework's users expect: the Keras-style model takes "input" (batch, H, W, C) channels-last (a Transpose
/// first) and gives "probabilities"; the torch model takes "input" (batch, C, H, W) and gives "logits", the image
/// shape and the class count the model's own. The batch dimension is dynamic.
/// </summary>
public static class OnnxExport
{
    public static byte[] Export(TrainedModel model)
    {
        // Every framework's model gives its weights in the Keras-style layout; the graph follows the architecture.
        using var weights = model.Architecture.Build(seed: 0);
        weights.SetWeights(model.WeightsInKerasLayout());
        return FromKeras(weights, model.Architecture, torchFlavour: model.Layout == ImageLayout.Nchw);
    }

    /// <summary>The input and output of a model exported from <paramref name="model"/>.</summary>
    public static (long[] Input, string Output, int Classes) Signature(TrainedModel model)
    {
        var shape = model.Architecture.InputShape;
        return model.Layout == ImageLayout.Nhwc
            ? ([-1, shape[0], shape[1], shape[2]], "probabilities", model.Architecture.OutputSize)
            : ([-1, shape[2], shape[0], shape[1]], "logits", model.Architecture.OutputSize);
    }

    static string Version => typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "0";

    static byte[] FromKeras(Sequential model, Architecture architecture, bool torchFlavour)
    {
        if (model.InputShape is not [int height, int width, int channels])
            throw new NotSupportedException($"Only image models export to ONNX; this one takes {Layer.Format(model.InputShape)}.");
        var graph = new OnnxGraph(torchFlavour ? "twintrain_torch" : "twintrain_keras");
        var tensors = architecture.Torch.Tensors;
        var values = WeightLayout.ToTorchLayout(model, architecture.Torch);
        int next = 0;
        string Weight()
        {
            var tensor = tensors[next];
            return graph.Initializer(tensor.Key.Replace('.', '_'), values[next++], tensor.Shape);
        }
        string first = torchFlavour ? "nchw" : "nhwc";
        // Everything runs channels-first inside the graph; the Keras-style input arrives channels-last.
        string x = torchFlavour ? first : graph.Node("Transpose", [first], ("perm", new long[] { 0, 3, 1, 2 }));
        string outputName = torchFlavour ? "logits" : "outputs";
        for (int l = 0; l < model.Layers.Count; l++)
        {
            var layer = model.Layers[l];
            bool last = l == model.Layers.Count - 1;
            switch (layer)
            {
                case Conv2D conv:
                {
                    string w = Weight(), b = conv.UseBias ? Weight() : graph.Initializer("zero_bias", new float[conv.Filters], [conv.Filters]);
                    x = graph.Node("Conv", [x, w, b],
                        ("kernel_shape", new long[] { conv.KernelSize.Height, conv.KernelSize.Width }),
                        ("strides", new long[] { conv.Strides.Height, conv.Strides.Width }),
                        ("pads", Pads(conv.Padding, conv.InputShape, conv.KernelSize, conv.Strides)));
                    x = Activate(graph, x, conv.Activation, last, torchFlavour, ref outputName);
                    break;
                }
                case Dense dense:
                {
                    string w = Weight(), b = dense.UseBias ? Weight() : graph.Initializer("zero_bias", new float[dense.Units], [dense.Units]);
                    x = graph.Node("Gemm", [x, w, b], ("transB", 1L));
                    x = Activate(graph, x, dense.Activation, last, torchFlavour, ref outputName);
                    break;
                }
                case BatchNormalization bn:
                {
                    int c = bn.Channels;
                    string scale = bn.Scale ? Weight() : graph.Initializer("ones", Enumerable.Repeat(1f, c).ToArray(), [c]);
                    string shift = bn.Center ? Weight() : graph.Initializer("zeros", new float[c], [c]);
                    string mean = Weight(), variance = Weight();
                    x = graph.Node("BatchNormalization", [x, scale, shift, mean, variance], ("epsilon", (float)bn.Epsilon));
                    break;
                }
                case ActivationLayer activation:
                    x = Activate(graph, x, activation.Function, last, torchFlavour, ref outputName);
                    break;
                case MaxPooling2D pool:
                    x = graph.Node("MaxPool", [x], ("kernel_shape", new long[] { pool.PoolSize.Height, pool.PoolSize.Width }),
                        ("strides", new long[] { pool.Strides.Height, pool.Strides.Width }),
                        ("pads", Pads(pool.Padding, pool.InputShape, pool.PoolSize, pool.Strides)));
                    break;
                case AveragePooling2D pool:
                    x = graph.Node("AveragePool", [x], ("kernel_shape", new long[] { pool.PoolSize.Height, pool.PoolSize.Width }),
                        ("strides", new long[] { pool.Strides.Height, pool.Strides.Width }),
                        ("pads", Pads(pool.Padding, pool.InputShape, pool.PoolSize, pool.Strides)), ("count_include_pad", 0L));
                    break;
                case GlobalAveragePooling2D:
                    x = graph.Node("Flatten", [graph.Node("GlobalAveragePool", [x])], ("axis", 1L));
                    break;
                case Flatten:
                    // Channels-first here, as in PyTorch: the next dense layer's weights are in torch layout (inputs permuted).
                    x = graph.Node("Flatten", [x], ("axis", 1L));
                    break;
                case Dropout:
                    break; // inference: identity
                default:
                    throw new NotSupportedException($"Layer '{layer.Name}' ({layer.GetType().Name}) has no ONNX export.");
            }
        }
        if (next != tensors.Count) throw new InvalidOperationException($"The export used {next} of {tensors.Count} weights.");
        return graph.ToModel("input", torchFlavour ? [-1, channels, height, width] : [-1, height, width, channels], first, x,
            [-1, model.OutputSize], outputName, Version);
    }

    static string Activate(OnnxGraph graph, string x, Activation activation, bool last, bool torchFlavour, ref string outputName)
    {
        switch (activation)
        {
            case Activation.Relu:
                return graph.Node("Relu", [x]);
            case Activation.Softmax when last && torchFlavour:
                return x; // the torch model gives logits
            case Activation.Softmax:
                if (last) outputName = "probabilities";
                return graph.Node("Softmax", [x], ("axis", 1L));
            default:
                return x;
        }
    }

    /// <summary>ONNX pads (top, left, bottom, right) for Keras's valid or same padding (the odd one after, as TensorFlow).</summary>
    static long[] Pads(string padding, int[] inputShape, (int Height, int Width) window, (int Height, int Width) strides)
    {
        if (padding != "same") return [0, 0, 0, 0];
        var (top, left, bottom, right) = TorchTranslation.SamePads(inputShape, window, strides);
        return [top, left, bottom, right];
    }
}
