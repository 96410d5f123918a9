using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Models;
using TwinTrain.Keras;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Frameworks.Keras;

/// <summary>A Keras-style model from a .keras file (or an older keras-model.zip), with its own config as its architecture.</summary>
public sealed class KerasTrainedModel : TrainedModel
{
    readonly Sequential _model;

    public KerasTrainedModel(string path)
    {
        Path = path;
        _model = Sequential.Load(path);
        // An image classifier: (height, width, channels) in, one score per class out; whether it fits the data in hand
        // is checked where data meets it (Architecture.CheckFits).
        if (_model.InputShape.Length != 3 || _model.OutputSize < 2)
        {
            _model.Dispose();
            throw new InvalidDataException($"{path}: the model takes {Layer.Format(_model.InputShape)} and gives {_model.OutputSize} outputs; an image classifier takes (None, height, width, channels) and gives one score per class.");
        }
        Architecture = Architecture.FromRecorded(path, ModelConfig.ToNode(_model));
        foreach (var (layer, weight) in _model.Layers.SelectMany(l => l.Weights.Select(w => (l, w))))
        {
            if (weight.Value.Any(v => !float.IsFinite(v)))
            {
                _model.Dispose();
                throw NotFinite(path, $"{layer.Name}.{weight.Name}");
            }
        }
    }

    public override string Framework => KerasProvider.FrameworkName;
    public override ImageLayout Layout => ImageLayout.Nhwc;

    public override float[][] WeightsInKerasLayout() => [.. _model.Weights.Select(w => (float[])w.Value.Clone())];

    /// <summary>The model as it was loaded, its compiled optimizer and state included.</summary>
    public override void SaveKeras(string path) => _model.Save(path);

    public override float[] Outputs(ImageSet set) => Probabilities(set);

    public override float[] Probabilities(ImageSet set)
    {
        var x = new float[set.Count * set.Shape.Pixels];
        new PixelConverter(ImageLayout.Nhwc).Fill(set, [.. Enumerable.Range(0, set.Count)], x);
        return _model.Predict(x, batchSize: 256);
    }

    public override void Dispose() => _model.Dispose();
}
