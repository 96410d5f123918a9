using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Keras;

namespace TwinTrain.Frameworks.Keras;

/// <summary>The Keras-style engine layer by layer (<see cref="LayerProbe"/>), in float32, for `twintrain diff`.</summary>
public sealed class KerasLayerProbe : ILayerProbe
{
    readonly Sequential _model;
    readonly LayerProbe _probe;

    public KerasLayerProbe(Architecture architecture, IReadOnlyList<float[]> weights, int batch)
    {
        _model = architecture.Build(seed: 0);
        _model.SetWeights(weights);
        _probe = new LayerProbe(_model, batch);
    }

    public double[] Forward(int layer, double[] input) => Doubles(_probe.Forward(layer, Floats(input)));

    public LayerGradients Backward(int layer, double[] outputGradient)
    {
        var inputGradient = new float[_probe.Batch * _model.Layers[layer].InputSize];
        var weights = _probe.Backward(layer, Floats(outputGradient), inputGradient);
        return new LayerGradients(Doubles(inputGradient), [.. weights.Select(g => Doubles(g))]);
    }

    public (double Loss, double[] Gradient) Loss(double[] logits, int[] labels)
    {
        var gradient = new float[logits.Length];
        double loss = _probe.Loss(Floats(logits), labels, gradient);
        return (loss, Doubles(gradient));
    }

    public void Step(double learningRate) => _probe.Step((float)learningRate);

    public double[][] Weights() => [.. _model.Weights.Select(w => Doubles(w.Value))];

    static float[] Floats(double[] values) => [.. values.Select(v => (float)v)];
    static double[] Doubles(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = values[i];
        return result;
    }

    public void Dispose() => _model.Dispose();
}
