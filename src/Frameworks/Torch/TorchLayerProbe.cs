using TorchSharp;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using static TorchSharp.torch;

namespace TwinTrain.Frameworks.Torch;

/// <summary>
/// The PyTorch-style network as TorchSharp builds it, one Keras layer (its modules: Conv2d and its ReLU) at a time
/// with autograd, in float32 as trained or in float64 as `twintrain diff`'s reference. Tensors cross in Keras's
/// layout: NHWC images become NCHW, and a flat activation after Flatten is in PyTorch's (c, h, w) order inside.
/// </summary>
public sealed class TorchLayerProbe : ILayerProbe
{
    readonly nn.Module<Tensor, Tensor> _model;
    readonly TorchTranslation _translation;
    readonly ScalarType _type;
    readonly int _batch;
    readonly int[][] _inputShapes, _outputShapes;
    readonly nn.Module<Tensor, Tensor>[][] _modules;
    readonly TorchTensor[][] _weightTensors;
    readonly Dictionary<string, Tensor> _parameters;
    readonly Tensor?[] _inputs, _outputs;

    public TorchLayerProbe(Architecture network, IReadOnlyList<float[]> weights, int batch, ProbePrecision precision)
    {
        _translation = network.Torch;
        _type = precision == ProbePrecision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        _batch = batch;
        _model = _translation.CreateModule();
        using (var keras = network.Build(seed: 0))
        {
            keras.SetWeights(weights);
            TorchWeights.KerasToTorch(keras, _model, _translation);
            var layers = keras.Layers;
            _inputShapes = [.. layers.Select(l => l.InputShape)];
            _outputShapes = [.. layers.Select(l => l.OutputShape)];
            var children = _model.named_children().ToDictionary(c => c.name, c => (nn.Module<Tensor, Tensor>)c.module);
            _modules = [.. layers.Select(layer => _translation.Modules.Where(m => m.KerasLayer == layer.Name).Select(m => children[m.Name]).ToArray())];
            // Each layer's trainable weights as the translation maps them (its Tensors are in the Keras model's weight order).
            var tensorOf = keras.Weights.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => _translation.Tensors[p.i]);
            _weightTensors = [.. layers.Select(l => l.TrainableWeights.Select(w => tensorOf[w]).ToArray())];
        }
        _model.to(_type);
        _model.train();
        _parameters = _model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        _inputs = new Tensor?[_modules.Length];
        _outputs = new Tensor?[_modules.Length];
    }

    public double[] Forward(int layer, double[] input)
    {
        _inputs[layer]?.Dispose();
        _outputs[layer]?.Dispose();
        var x = ToTorch(input, _inputShapes[layer], _translation.FlatOrder(layer)).requires_grad_(true);
        var y = x;
        foreach (var module in _modules[layer]) y = module.call(y);
        if (ReferenceEquals(y, x)) y = x.alias();
        _inputs[layer] = x;
        _outputs[layer] = y;
        return ToKeras(y, _outputShapes[layer], _translation.FlatOrder(layer + 1));
    }

    public LayerGradients Backward(int layer, double[] outputGradient)
    {
        var (x, y) = (_inputs[layer] ?? throw new InvalidOperationException($"Layer {layer} backward before forward."), _outputs[layer]!);
        foreach (var tensor in _weightTensors[layer]) _parameters[tensor.Key].grad?.zero_();
        x.grad?.zero_();
        using (var upstream = ToTorch(outputGradient, _outputShapes[layer], _translation.FlatOrder(layer + 1)))
        using (var product = (y * upstream).sum())
            product.backward(); // d(sum(y * g))/dx is the vector-Jacobian product J^T g, the layer's backward pass
        var input = x.grad is { } dx ? ToKeras(dx, _inputShapes[layer], _translation.FlatOrder(layer)) : new double[InputLength(layer)];
        var weights = _weightTensors[layer].Select(t => KerasLayout(_parameters[t.Key].grad!, t.Order)).ToArray();
        return new LayerGradients(input, weights);
    }

    int InputLength(int layer) => _batch * _inputShapes[layer].Aggregate(1, (a, b) => a * b);

    public (double Loss, double[] Gradient) Loss(double[] logits, int[] labels)
    {
        int classes = logits.Length / _batch;
        using var x = tensor(logits, [_batch, classes], _type).requires_grad_(true);
        using var target = tensor(labels.Select(l => (long)l).ToArray(), [_batch]);
        using var loss = nn.functional.cross_entropy(x, target);
        loss.backward();
        return (loss.to_type(ScalarType.Float64).item<double>(), x.grad!.to_type(ScalarType.Float64).contiguous().data<double>().ToArray());
    }

    public void Step(double learningRate)
    {
        using var noGrad = no_grad();
        foreach (var parameter in _parameters.Values)
            if (parameter.grad is { } gradient) parameter.add_(gradient, alpha: -learningRate);
    }

    public double[][] Weights()
    {
        var state = _model.state_dict();
        return [.. _translation.Tensors.Select(t => KerasLayout(state[t.Key], t.Order))];
    }

    static double[] KerasLayout(Tensor value, int[]? order) =>
        WeightLayout.Reorder(value.detach().to_type(ScalarType.Float64).contiguous().data<double>().ToArray(), order);

    /// <summary>A batch in Keras's layout as a tensor in torch's: (N, H, W, C) → (N, C, H, W); flat after Flatten → PyTorch's order.</summary>
    Tensor ToTorch(double[] values, int[] shape, int[]? order)
    {
        if (shape is [int h, int w, int c])
        {
            using var nhwc = tensor(values, [_batch, h, w, c], _type);
            return nhwc.permute(0, 3, 1, 2).contiguous();
        }
        int size = shape.Aggregate(1, (a, b) => a * b);
        if (order is null) return tensor(values, [_batch, size], _type);
        var torchOrder = new double[values.Length];
        for (int n = 0; n < _batch; n++)
            for (int j = 0; j < size; j++) torchOrder[n * size + order[j]] = values[n * size + j];
        return tensor(torchOrder, [_batch, size], _type);
    }

    double[] ToKeras(Tensor value, int[] shape, int[]? order)
    {
        using var detached = value.detach();
        using var nhwc = shape.Length == 3 ? detached.permute(0, 2, 3, 1) : detached.alias();
        var torch = nhwc.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        if (order is null) return torch;
        int size = order.Length;
        var keras = new double[torch.Length];
        for (int n = 0; n < _batch; n++)
            for (int j = 0; j < size; j++) keras[n * size + j] = torch[n * size + order[j]];
        return keras;
    }

    public void Dispose()
    {
        foreach (var t in _inputs.Concat(_outputs)) t?.Dispose();
        _model.Dispose();
    }
}
