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
        if (!_model.InputShape.SequenceEqual([32, 32, 3]) || _model.OutputSize != CifarClasses.Count)
        {
            _model.Dispose();
            throw new InvalidDataException($"{path}: the model takes {Layer.Format(_model.InputShape)} and gives {_model.OutputSize} outputs; a CIFAR-10 model takes (None, 32, 32, 3) and gives 10.");
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
        var x = new float[set.Count * CifarClasses.PixelsPerImage];
        new PixelConverter(ImageLayout.Nhwc).Fill(set, [.. Enumerable.Range(0, set.Count)], x);
        return _model.Predict(x, batchSize: 256);
    }

    public override void Dispose() => _model.Dispose();
}
