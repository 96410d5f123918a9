using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Models;
using TwinTrain.Keras;
using TwinTrain.Keras.Layers;
using static TorchSharp.torch;

namespace TwinTrain.Experiment.Export;

/// <summary>
/// Exports a trained model of either framework to ONNX (opset 13) with the ops Conv, Relu, MaxPool, AveragePool,
/// Transpose, Flatten, Gemm and Softmax. Inputs are shaped as each framework's users expect: the Keras-style model
/// takes "input" (batch, 32, 32, 3) channels-last and gives "probabilities"; the torch model takes "input"
/// (batch, 3, 32, 32) channels-first and gives "logits". The batch dimension is dynamic.
/// </summary>
public static class OnnxExport
{
    public static byte[] Export(TrainedModel model) => model switch
    {
        TrainedModel.KerasModel keras => FromKeras(keras.Model),
        TrainedModel.TorchModel torch => FromTorch(torch.Model),
        _ => throw new NotSupportedException($"Cannot export a {model.Framework} model."),
    };

    /// <summary>The input and output layouts of an exported model.</summary>
    public static (long[] Input, string Output) Signature(ImageLayout layout) =>
        layout == ImageLayout.Nhwc ? ([-1, 32, 32, 3], "probabilities") : ([-1, 3, 32, 32], "logits");

    static string Version => typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "0";

    static byte[] FromKeras(Sequential model)
    {
        if (model.InputShape.Length != 3)
            throw new NotSupportedException($"Only image models export to ONNX; this one takes {Layer.Format(model.InputShape)}.");
        var graph = new OnnxGraph("twintrain_keras");
        var torchLayout = WeightLayout.ToTorchLayout(model);
        int next = 0;
        // Convolutions run channels-first inside the graph; the input arrives channels-last.
        string x = graph.Node("Transpose", ["nhwc"], ("perm", new long[] { 0, 3, 1, 2 }));
        string first = "nhwc";
        bool channelsFirst = true;
        string outputName = "outputs";
        foreach (var layer in model.Layers)
        {
            switch (layer)
            {
                case Conv2D conv:
                {
                    var (w, wShape) = torchLayout[next++];
                    var (b, bShape) = torchLayout[next++];
                    var (top, left, bottom, right) = Pads(conv, layer.InputShape);
                    x = graph.Node("Conv", [x, graph.Initializer("conv_w", w, wShape), graph.Initializer("conv_b", b, bShape)],
                        ("kernel_shape", new long[] { conv.KernelSize.Height, conv.KernelSize.Width }),
                        ("strides", new long[] { conv.Strides.Height, conv.Strides.Width }),
                        ("pads", new long[] { top, left, bottom, right }));
                    x = Activate(graph, x, conv.Activation, layer.Name, ref outputName);
                    break;
                }
                case MaxPooling2D pool:
                    x = graph.Node("MaxPool", [x], ("kernel_shape", new long[] { pool.PoolSize.Height, pool.PoolSize.Width }),
                        ("strides", new long[] { pool.Strides.Height, pool.Strides.Width }));
                    break;
                case AveragePooling2D pool:
                    x = graph.Node("AveragePool", [x], ("kernel_shape", new long[] { pool.PoolSize.Height, pool.PoolSize.Width }),
                        ("strides", new long[] { pool.Strides.Height, pool.Strides.Width }));
                    break;
                case Flatten:
                    // Keras flattens (h, w, c): back to channels-last first, so its dense weights apply unchanged.
                    if (channelsFirst && layer.InputShape.Length == 3) x = graph.Node("Transpose", [x], ("perm", new long[] { 0, 2, 3, 1 }));
                    channelsFirst = false;
                    x = graph.Node("Flatten", [x], ("axis", 1L));
                    break;
                case Dense dense:
                {
                    next += 2;
                    x = graph.Node("Gemm", [x, graph.Initializer("dense_w", dense.Kernel.Value, [dense.Kernel.Shape[0], dense.Kernel.Shape[1]]),
                        graph.Initializer("dense_b", dense.Bias!.Value, [dense.Units])]);
                    x = Activate(graph, x, dense.Activation, layer.Name, ref outputName);
                    break;
                }
                case Dropout:
                    break; // inference: identity
                default:
                    throw new NotSupportedException($"Layer '{layer.Name}' ({layer.GetType().Name}) has no ONNX export.");
            }
        }
        int outputs = model.OutputSize;
        long[] inputShape = [-1, .. model.InputShape.Select(d => (long)d)];
        return graph.ToModel("input", inputShape, first, x, [-1, outputs], outputName, Version);
    }

    static string Activate(OnnxGraph graph, string x, Activation activation, string layer, ref string outputName)
    {
        switch (activation)
        {
            case Activation.Relu:
                outputName = "outputs";
                return graph.Node("Relu", [x]);
            case Activation.Softmax:
                outputName = "probabilities";
                return graph.Node("Softmax", [x], ("axis", -1L));
            default:
                outputName = "outputs";
                return x;
        }
    }

    /// <summary>ONNX pads (top, left, bottom, right) for Keras's valid or same padding (extra padding after, as TensorFlow).</summary>
    static (long, long, long, long) Pads(Conv2D conv, int[] inputShape)
    {
        if (conv.Padding != "same") return (0, 0, 0, 0);
        long Total(int input, int kernel, int stride)
        {
            int output = (input + stride - 1) / stride;
            return Math.Max((output - 1) * stride + kernel - input, 0);
        }
        long rows = Total(inputShape[0], conv.KernelSize.Height, conv.Strides.Height);
        long columns = Total(inputShape[1], conv.KernelSize.Width, conv.Strides.Width);
        return (rows / 2, columns / 2, rows - rows / 2, columns - columns / 2);
    }

    static byte[] FromTorch(Torch.StudyCnn model)
    {
        var graph = new OnnxGraph("twintrain_torch");
        var p = model.named_parameters().ToDictionary(n => n.name, n => (Values: n.parameter.data<float>().ToArray(), Shape: n.parameter.shape));
        string Init(string name) => graph.Initializer(name.Replace('.', '_'), p[name].Values, p[name].Shape);
        string x = graph.Node("Conv", ["nchw", Init("conv1.weight"), Init("conv1.bias")], ("kernel_shape", new long[] { 3, 3 }));
        x = graph.Node("Relu", [x]);
        x = graph.Node("MaxPool", [x], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        x = graph.Node("Conv", [x, Init("conv2.weight"), Init("conv2.bias")], ("kernel_shape", new long[] { 3, 3 }));
        x = graph.Node("Relu", [x]);
        x = graph.Node("MaxPool", [x], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        x = graph.Node("Flatten", [x], ("axis", 1L));
        x = graph.Node("Gemm", [x, Init("fc1.weight"), Init("fc1.bias")], ("transB", 1L));
        x = graph.Node("Relu", [x]);
        x = graph.Node("Gemm", [x, Init("fc2.weight"), Init("fc2.bias")], ("transB", 1L));
        return graph.ToModel("input", [-1, 3, 32, 32], "nchw", x, [-1, 10], "logits", Version);
    }
}
