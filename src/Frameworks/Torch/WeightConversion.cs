using TorchSharp;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Experiment.Models;
using static TorchSharp.torch;

namespace TwinTrain.Frameworks.Torch;

/// <summary>The formats a trained model converts to: Keras 3's .keras, TorchSharp's .dat and PyTorch's state_dict.</summary>
public enum ModelFormat { Keras, Torch, PyTorch }

/// <summary>
/// Converts a trained model of any framework, by its weights in the Keras-style layout, to a .keras file, a TorchSharp
/// module or a PyTorch state_dict (channels-last ↔ channels-first layouts, the permutation of a dense layer's inputs
/// after Flatten, BatchNormalization's moving statistics), as the model's architecture maps its weights.
/// </summary>
public static class WeightConversion
{
    /// <summary>Writes <paramref name="model"/> in <paramref name="format"/> to <paramref name="path"/>; returns the largest
    /// difference between the two models' probabilities on random images (a check of the conversion).</summary>
    public static double Convert(TrainedModel model, ModelFormat format, string path)
    {
        var architecture = model.Architecture;
        File.Delete(path + Checksums.Extension); // an earlier file's sum must never describe the new one
        if (format == ModelFormat.Keras) model.SaveKeras(path);
        else if (model is TorchTrainedModel torch) SaveTorch(torch.Module, format, path);
        else
        {
            using var keras = architecture.Build(seed: 0);
            keras.SetWeights(model.WeightsInKerasLayout());
            using var module = architecture.Torch.CreateModule();
            TorchWeights.KerasToTorch(keras, module, architecture.Torch);
            SaveTorch(module, format, path);
        }
        // A torch file does not carry its architecture: keep the config beside it, as run folders do.
        if (format != ModelFormat.Keras && !architecture.IsStudy) architecture.WriteTo(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // And its SHA-256 (NAME.sha256, as sha256sum writes it), which every later load checks.
        Checksums.WriteBeside(path);

        using var converted = TrainedModel.Load(path, architecture.IsStudy || format == ModelFormat.Keras ? null : BesidePath(path));
        var images = Benchmark.RandomImages(256, seed: 17, architecture);
        var before = model.Probabilities(images);
        var after = converted.Probabilities(images);
        return before.Zip(after, (a, b) => Math.Abs(a - b)).Max();
    }

    static string BesidePath(string path) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Architecture.FileName);

    /// <summary>Saves to a temporary name, flushed, and renames it into place, so a crash never leaves a truncated file at <paramref name="path"/>.</summary>
    public static void SaveTorch(nn.Module model, ModelFormat format, string path)
    {
        Data.AtomicFile.WriteThrough(path, temp =>
        {
            if (format == ModelFormat.PyTorch) WritePyTorch(model, temp);
            else model.save(temp);
        });
    }

    /// <summary>The module's state_dict as torch.save writes it (see <see cref="Data.Formats.TorchStateDictWriter"/>).</summary>
    static void WritePyTorch(nn.Module model, string path)
    {
        var tensors = model.state_dict().Select(p =>
        {
            using var contiguous = p.Value.detach().contiguous();
            byte[] bytes = p.Value.dtype == ScalarType.Int64
                ? System.Runtime.InteropServices.MemoryMarshal.AsBytes(contiguous.data<long>().ToArray().AsSpan()).ToArray()
                : System.Runtime.InteropServices.MemoryMarshal.AsBytes(contiguous.to_type(ScalarType.Float32).data<float>().ToArray().AsSpan()).ToArray();
            return new Data.Formats.TorchStateDictWriter.Tensor(p.Key, p.Value.dtype == ScalarType.Int64 ? "int64" : "float32", p.Value.shape, bytes);
        }).ToList();
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        Data.Formats.TorchStateDictWriter.Write(file, tensors);
        file.Flush(flushToDisk: true);
    }

    public static string Extension(ModelFormat format) => format switch
    {
        ModelFormat.Keras => ".keras",
        ModelFormat.Torch => ".dat",
        _ => ".pt",
    };
}
