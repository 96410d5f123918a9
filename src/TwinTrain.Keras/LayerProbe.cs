using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Losses;

namespace TwinTrain.Keras;

/// <summary>
/// Runs a model one layer at a time in training mode: each layer forward on an input it is given, then backward from
/// an output gradient it is given, with the kernels Fit uses (Winograd, the blocked GEMMs, BatchNormalization's batch
/// sums in double) on the whole batch at once, but without fusing a layer into the one before it (a fused ReLU is
/// exact, so this changes no value). The last layer's softmax is deferred into the loss, as in training, so the last
/// layer gives logits. What `twintrain diff` needs to see where two frameworks part.
/// </summary>
public sealed class LayerProbe
{
    readonly Sequential _model;
    readonly float[][] _inputs, _outputs;
    readonly AlignedBuffer[] _scratch;
    readonly float[][][] _weightGradients;
    readonly double[][] _sums;

    /// <summary>A probe of <paramref name="model"/> (its own: the probe sets how its last layer's softmax is computed) on batches of <paramref name="batch"/>.</summary>
    public LayerProbe(Sequential model, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        _model = model;
        Batch = batch;
        var last = model.Layers[^1];
        last.DeferActivation = last is Dense { Activation: Activation.Softmax } or Conv2D { Activation: Activation.Softmax }
            or ActivationLayer { Function: Activation.Softmax };
        foreach (var layer in model.Layers)
        {
            layer.FuseRelu = false;
            if (layer is MaxPooling2D pool) pool.AppliesReluDerivative = false;
        }
        _inputs = [.. model.Layers.Select(l => new float[batch * l.InputSize])];
        _outputs = [.. model.Layers.Select(l => new float[batch * l.OutputSize])];
        _scratch = [.. model.Layers.Select(l => new AlignedBuffer(l.ScratchSize(batch)))];
        _weightGradients = [.. model.Layers.Select(l => l.TrainableWeights.Select(w => new float[w.Size]).ToArray())];
        _sums = [.. model.Layers.Select(l => new double[(l as IBatchReduction)?.ReductionSize ?? 0])];
    }

    public int Batch { get; }

    /// <summary>Layer <paramref name="index"/> forward in training mode (batch statistics, dropout drawn from step 0); the output is the probe's buffer, valid until the layer runs again.</summary>
    public ReadOnlySpan<float> Forward(int index, ReadOnlySpan<float> input)
    {
        var layer = _model.Layers[index];
        input.CopyTo(_inputs[index]);
        if (layer is IBatchReduction reduction)
        {
            Array.Clear(_sums[index]);
            reduction.AddForwardSums(_inputs[index], Batch, _sums[index]);
            reduction.CombineForward(_sums[index], Batch);
        }
        layer.Call(_inputs[index], _outputs[index], Batch, new CallContext(Training: true), _scratch[index].Span);
        return _outputs[index];
    }

    /// <summary>
    /// Layer <paramref name="index"/> backward from d(loss)/d(its output) (for the last layer: d(loss)/d(logits)), after
    /// its <see cref="Forward"/>: d(loss)/d(its input) into <paramref name="inputGradient"/>, and the gradient of each
    /// trainable weight (the probe's buffers, kept until the layer runs again: <see cref="Step"/> uses them).
    /// </summary>
    public float[][] Backward(int index, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        var layer = _model.Layers[index];
        var gradient = outputGradient.ToArray(); // the layer may overwrite its output gradient
        foreach (var weightGradient in _weightGradients[index]) Array.Clear(weightGradient);
        bool logits = index == _model.Layers.Count - 1 && layer.DeferActivation;
        if (layer is IBatchReduction reduction)
        {
            Array.Clear(_sums[index]);
            reduction.AddBackwardSums(_inputs[index], _outputs[index], gradient, Batch, _weightGradients[index], _sums[index], logits);
            reduction.CombineBackward(_sums[index], Batch);
        }
        layer.Backward(_inputs[index], _outputs[index], gradient, inputGradient, Batch, _weightGradients[index], _scratch[index].Span, logits);
        return _weightGradients[index];
    }

    /// <summary>The batch's mean sparse categorical cross-entropy of the last layer's logits, and its gradient with respect to them.</summary>
    public double Loss(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, Span<float> gradient)
    {
        int classes = _model.OutputSize;
        double sum = 0;
        for (int i = 0; i < Batch; i++)
            sum += SparseCategoricalCrossentropy.FromLogitsRow(logits.Slice(i * classes, classes), labels[i], 1f / Batch, gradient.Slice(i * classes, classes)).Loss;
        return sum / Batch;
    }

    /// <summary>One step of plain SGD, w ← w − lr·g in float32, with each layer's gradients from its last <see cref="Backward"/>.</summary>
    public void Step(float learningRate)
    {
        for (int l = 0; l < _model.Layers.Count; l++)
        {
            var layer = _model.Layers[l];
            for (int w = 0; w < layer.TrainableWeights.Count; w++)
            {
                float[] value = layer.TrainableWeights[w].Value, gradient = _weightGradients[l][w];
                for (int i = 0; i < value.Length; i++) value[i] -= learningRate * gradient[i];
            }
            layer.OnWeightsChanged();
        }
    }
}
