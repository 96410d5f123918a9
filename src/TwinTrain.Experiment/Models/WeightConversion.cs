using TorchSharp.PyBridge;
using TwinTrain.Data;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Study;
using TwinTrain.Torch;

namespace TwinTrain.Experiment.Models;

/// <summary>The formats a trained model converts to: TwinTrain's two and PyTorch's state_dict.</summary>
public enum ModelFormat { Keras, Torch, PyTorch }

/// <summary>
/// Converts a trained study CNN between the frameworks (channels-last ↔ channels-first layouts, including the
/// permutation of the first dense layer's inputs) and to or from a PyTorch state_dict file.
/// </summary>
public static class WeightConversion
{
    /// <summary>Writes <paramref name="model"/> in <paramref name="format"/> to <paramref name="path"/>; returns the largest
    /// difference between the two models' probabilities on random images (a check of the conversion).</summary>
    public static double Convert(TrainedModel model, ModelFormat format, string path)
    {
        using var torch = new StudyCnn();
        switch (model, format)
        {
            case (TrainedModel.KerasModel keras, ModelFormat.Keras):
                keras.Model.Save(path);
                break;
            case (TrainedModel.KerasModel keras, _):
                WeightLayout.KerasToTorch(keras.Model, torch);
                SaveTorch(torch, format, path);
                break;
            case (TrainedModel.TorchModel source, ModelFormat.Keras):
            {
                using var keras = KerasStudy.CreateModel(seed: 0, learningRate: 0.001);
                WeightLayout.TorchToKeras(source.Model, keras);
                keras.Save(path);
                break;
            }
            case (TrainedModel.TorchModel source, _):
                SaveTorch(source.Model, format, path);
                break;
        }

        using var converted = TrainedModel.Load(path);
        var images = Benchmark.RandomImages(256, seed: 17);
        var before = model.Probabilities(images);
        var after = converted.Probabilities(images);
        return before.Zip(after, (a, b) => Math.Abs(a - b)).Max();
    }

    static void SaveTorch(StudyCnn model, ModelFormat format, string path)
    {
        if (format == ModelFormat.PyTorch) model.save_py(path);
        else model.save(path);
    }

    public static string Extension(ModelFormat format) => format switch
    {
        ModelFormat.Keras => ".zip",
        ModelFormat.Torch => ".dat",
        _ => ".pt",
    };
}
