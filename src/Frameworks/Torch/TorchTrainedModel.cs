using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Models;
using TwinTrain.Frameworks.Torch.Study;
using static TorchSharp.torch;

namespace TwinTrain.Frameworks.Torch;

/// <summary>
/// A PyTorch-style model from a TorchSharp .dat file or a PyTorch state_dict (the real PyTorch's run folders hold
/// those), built as the architecture's translation and loaded strictly.
/// </summary>
public sealed class TorchTrainedModel : TrainedModel
{
    readonly nn.Module<Tensor, Tensor> _model;

    public TorchTrainedModel(string path, Architecture architecture, bool pytorchFormat = false)
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

    public override string Framework => TorchProvider.FrameworkName;
    public override ImageLayout Layout => ImageLayout.Nchw;
    public nn.Module<Tensor, Tensor> Module => _model;

    public override float[][] WeightsInKerasLayout() => TorchWeights.InKerasLayout(_model, Architecture.Torch);

    public override float[] Probabilities(ImageSet set) => ClassScores.Softmax(Outputs(set), Architecture.OutputSize);

    public override float[] Outputs(ImageSet set)
    {
        var batches = new Batches(set, 256, ImageLayout.Nchw);
        batches.StartEpoch(0, 0, shuffle: false);
        int classes = Architecture.OutputSize;
        var result = new float[set.Count * classes];
        using var noGrad = no_grad();
        _model.eval();
        for (int b = 0; b < batches.BatchCount; b++)
        {
            using var scope = NewDisposeScope();
            var batch = batches.Load(b);
            var logits = _model.call(TorchTraining.ToTensors(batch).X).data<float>().ToArray();
            logits.CopyTo(result, b * batches.BatchSize * classes);
        }
        return result;
    }

    public override void Dispose() => _model.Dispose();
}
