using TorchSharp;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Keras;
using TwinTrain.Keras.Saving;
using TwinTrain.Torch;
using static TorchSharp.torch;

namespace TwinTrain.Experiment.Models;

/// <summary>
/// A trained model of either framework, loaded from a run folder or its model file, that gives class
/// probabilities for CIFAR-10-sized images.
/// </summary>
public abstract class TrainedModel : IDisposable
{
    public abstract string Framework { get; }
    public string Path { get; protected init; } = "";

    /// <summary>The network: a Keras model's own config, or for torch files the architecture they were trained as.</summary>
    public Architecture Architecture { get; protected init; } = Architecture.Study;

    /// <summary>Softmax probabilities, 10 per image, for every image of the set.</summary>
    public abstract float[] Probabilities(ImageSet set);

    /// <summary>What the network itself outputs, 10 per image: probabilities for the Keras-style model, logits for the torch one.</summary>
    public abstract float[] Outputs(ImageSet set);

    /// <summary>The input layout the model's users expect: channels-last for Keras, channels-first for PyTorch.</summary>
    public abstract ImageLayout Layout { get; }

    public abstract void Dispose();

    /// <summary>
    /// Loads <paramref name="path"/>: a run folder (from train or compare) or the model file in it
    /// (model.keras, an older keras-model.zip, or weights.torchsharp.dat), or a PyTorch state_dict (.pt/.pth, as
    /// torch.save(model.state_dict()) writes). A torch file's architecture is <paramref name="architecture"/> when
    /// given, else the model.json beside it (run folders have one), else the study's CNN. Anything else gets a message
    /// naming the file and the problem.
    /// </summary>
    public static TrainedModel Load(string path, string? architecture = null)
    {
        if (Directory.Exists(path)) return Load(ModelFileOf(path), architecture);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file or run folder.", path);
        // A file with a recorded SHA-256 (checkpoints' SHA256SUMS, converted files' NAME.sha256) must match it.
        Checkpoints.Checksums.Verify(path);
        if (path.EndsWith(".keras", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)) return new KerasModel(path);
        if (path.EndsWith(".dat", StringComparison.OrdinalIgnoreCase)) return new TorchModel(path, ArchitectureBeside(path, architecture));
        if (path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase))
            return new TorchModel(path, ArchitectureBeside(path, architecture), pytorchFormat: true);
        throw new InvalidDataException($"{path}: not a TwinTrain model (expected {KerasFramework.ModelFile}, {TorchFramework.WeightsFile} or a PyTorch .pt state_dict).");
    }

    /// <summary>A run folder's model: the checkpoint its run.json records (verified), or the files at its top (older runs, or a folder of model files).</summary>
    static string ModelFileOf(string folder)
    {
        var run = Reporting.RunFiles.ReadRun(folder);
        if (run?.Checkpoint is { } checkpoint)
            return System.IO.Path.Combine(checkpoint.VerifiedFolder(folder, run.History.Count), checkpoint.ModelFile);
        foreach (string name in new[] { KerasFramework.ModelFile, KerasFramework.LegacyModelFile, TorchFramework.WeightsFile })
        {
            string file = System.IO.Path.Combine(folder, name);
            if (File.Exists(file)) return file;
        }
        throw new FileNotFoundException(run is null
            ? $"{folder}: no trained model here (expected a run folder from 'twintrain train', or {KerasFramework.ModelFile} or {TorchFramework.WeightsFile})."
            : $"{folder}: the run completed no epoch, so it has no model.");
    }

    /// <summary>A torch file's architecture: the one named, else model.json in its folder if there is one, else the study's.</summary>
    static Architecture ArchitectureBeside(string file, string? named)
    {
        string beside = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!, Architecture.FileName);
        if (named is not null) return Architecture.Resolve(named).ForCifar10();
        return File.Exists(beside) ? Architecture.Resolve(beside).ForCifar10() : Architecture.Study;
    }

    static InvalidDataException NotFinite(string path, string weight) =>
        new($"{path}: the model's weights are not finite (NaN or infinity in '{weight}'); its training diverged, so it cannot be used.");

    internal sealed class KerasModel : TrainedModel
    {
        readonly Sequential _model;

        public KerasModel(string path)
        {
            Path = path;
            _model = Sequential.Load(path);
            if (!_model.InputShape.SequenceEqual([32, 32, 3]) || _model.OutputSize != CifarClasses.Count)
            {
                _model.Dispose();
                throw new InvalidDataException($"{path}: the model takes {Keras.Layers.Layer.Format(_model.InputShape)} and gives {_model.OutputSize} outputs; a CIFAR-10 model takes (None, 32, 32, 3) and gives 10.");
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

        public override string Framework => "keras";
        public override ImageLayout Layout => ImageLayout.Nhwc;
        internal Sequential Model => _model;

        public override float[] Outputs(ImageSet set) => Probabilities(set);

        public override float[] Probabilities(ImageSet set)
        {
            var x = new float[set.Count * CifarClasses.PixelsPerImage];
            new PixelConverter(ImageLayout.Nhwc).Fill(set, [.. Enumerable.Range(0, set.Count)], x);
            return _model.Predict(x, batchSize: 256);
        }

        public override void Dispose() => _model.Dispose();
    }

    internal sealed class TorchModel : TrainedModel
    {
        readonly nn.Module<Tensor, Tensor> _model;

        public TorchModel(string path, Architecture architecture, bool pytorchFormat = false)
        {
            Path = path;
            Architecture = architecture;
            _model = architecture.Torch.CreateModule();
            try
            {
                if (pytorchFormat) PyTorchStateDict.LoadInto(_model, path, architecture.Source);
                else _model.load(path);
            }
            catch (Exception e) when (e is InvalidDataException or Data.DataFormatException)
            {
                _model.Dispose();
                throw; // names the file and what does not fit
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _model.Dispose();
                string keys = string.Join(", ", architecture.Torch.Tensors.Select(t => t.Key));
                throw new InvalidDataException(pytorchFormat
                    ? $"{path}: cannot load the PyTorch state_dict ({e.Message}); for {architecture.Source} it must hold {keys}."
                    : $"{path}: cannot load the torch model ({e.Message}); the file is truncated or not {architecture.Source} saved by TwinTrain.", e);
            }
            CheckFinite();
        }

        /// <summary>Refuses weights with NaN or infinity: a model that diverged gives no meaningful predictions.</summary>
        void CheckFinite()
        {
            foreach (var (name, tensor) in _model.state_dict())
            {
                if (!tensor.is_floating_point()) continue;
                using var finite = tensor.isfinite().all();
                if (!finite.item<bool>())
                {
                    _model.Dispose();
                    throw NotFinite(Path, name);
                }
            }
        }

        public override string Framework => "torch";
        public override ImageLayout Layout => ImageLayout.Nchw;
        internal nn.Module<Tensor, Tensor> Model => _model;

        public override float[] Probabilities(ImageSet set)
        {
            return ClassScores.Softmax(Outputs(set), CifarClasses.Count);
        }

        public override float[] Outputs(ImageSet set)
        {
            var batches = new Batches(set, 256, ImageLayout.Nchw);
            batches.StartEpoch(0, 0, shuffle: false);
            var result = new float[set.Count * CifarClasses.Count];
            using var noGrad = no_grad();
            _model.eval();
            for (int b = 0; b < batches.BatchCount; b++)
            {
                using var scope = NewDisposeScope();
                var batch = batches.Load(b);
                var logits = _model.call(TorchTraining.ToTensors(batch).X).data<float>().ToArray();
                logits.CopyTo(result, b * batches.BatchSize * CifarClasses.Count);
            }
            return result;
        }

        public override void Dispose() => _model.Dispose();
    }
}
