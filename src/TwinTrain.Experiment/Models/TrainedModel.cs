using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;

namespace TwinTrain.Experiment.Models;

/// <summary>
/// A trained model of any framework, loaded from a run folder or its model file by the framework whose file it is,
/// that gives class probabilities for the images of the data set it was trained on.
/// </summary>
public abstract class TrainedModel : IDisposable
{
    public abstract string Framework { get; }
    public string Path { get; protected init; } = "";

    /// <summary>The network: a Keras model's own config, or for torch files the architecture they were trained as.</summary>
    public Architecture Architecture { get; protected init; } = Architecture.Study;

    /// <summary>Softmax probabilities, one per class, for every image of the set.</summary>
    public abstract float[] Probabilities(ImageSet set);

    /// <summary>What the network itself outputs, one per class and image: probabilities for the Keras-style model, logits for the torch one.</summary>
    public abstract float[] Outputs(ImageSet set);

    /// <summary>The input layout the model's users expect: channels-last for Keras, channels-first for PyTorch.</summary>
    public abstract ImageLayout Layout { get; }

    /// <summary>Every weight (trainable or not) in the Keras-style model's order and layout: what export and conversion start from.</summary>
    public abstract float[][] WeightsInKerasLayout();

    /// <summary>Writes the model as a Keras 3 .keras file (the architecture with these weights; a Keras-style model keeps its optimizer too).</summary>
    public virtual void SaveKeras(string path)
    {
        using var keras = Architecture.Build(seed: 0);
        keras.SetWeights(WeightsInKerasLayout());
        keras.Save(path);
    }

    public abstract void Dispose();

    /// <summary>
    /// The data set the model was trained on, as its run folder's run.json records it (the folder given, or the run
    /// folder above a checkpoint's file); null where nothing records it.
    /// </summary>
    public static DataSummary? RecordedData(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        string? folder = Directory.Exists(full) ? full : System.IO.Path.GetDirectoryName(full);
        // A run folder, or its checkpoint/epoch-NNNN/ folder two levels below it.
        for (int up = 0; up < 3 && folder is not null; up++, folder = System.IO.Path.GetDirectoryName(folder))
        {
            if (!File.Exists(System.IO.Path.Combine(folder, Reporting.RunFiles.Run))) continue;
            return Reporting.RunFiles.ReadRun(folder)?.Data;
        }
        return null;
    }

    /// <summary>The images the model takes.</summary>
    public ImageShape InputShape => Architecture.ImageShape
        ?? throw new InvalidDataException($"{Path}: the model takes {Keras.Layers.Layer.Format(Architecture.InputShape)}, not images.");

    /// <summary>
    /// The names of the model's classes: those its run recorded, else CIFAR-10's for a model of CIFAR-10's shape, else
    /// "class 0", "class 1", ... (a bare model file does not say which data set it learnt).
    /// </summary>
    public IReadOnlyList<string> ClassNames()
    {
        int classes = Architecture.OutputSize;
        if (RecordedData(Path)?.ClassNames is { } recorded && recorded.Count == classes) return recorded;
        if (InputShape == DatasetInfo.Cifar10.Shape && classes == DatasetInfo.Cifar10.Classes) return DatasetInfo.Cifar10.ClassNames;
        return [.. Enumerable.Range(0, classes).Select(c => $"class {c}")];
    }

    /// <summary>Refuses data the model was not made for, in one line naming both.</summary>
    public void CheckFits(DatasetInfo data) =>
        Architecture.CheckFits(data.Shape.Height, data.Shape.Width, data.Shape.Channels, data.Classes);

    /// <summary>
    /// Loads <paramref name="path"/>: a run folder (from train or compare) or a model file of any registered framework
    /// (model.keras, an older keras-model.zip, weights.torchsharp.dat, or a PyTorch state_dict .pt/.pth as
    /// torch.save(model.state_dict()) writes). A file without its architecture (a state_dict) is read as
    /// <paramref name="architecture"/> when given, else the model.json beside it (run folders have one), else the
    /// study's CNN. Anything else gets a message naming the file and the problem.
    /// </summary>
    public static TrainedModel Load(string path, string? architecture = null)
    {
        if (Directory.Exists(path)) return Load(ModelFileOf(path), architecture);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file or run folder.", path);
        // A file with a recorded SHA-256 (checkpoints' SHA256SUMS, converted files' NAME.sha256) must match it.
        Checkpoints.Checksums.Verify(path);
        foreach (var provider in FrameworkCatalog.All)
            if (provider.TryLoad(path, () => ArchitectureBeside(path, architecture)) is { } model) return model;
        throw new InvalidDataException($"{path}: not a TwinTrain model (expected {ExpectedFiles()}).");
    }

    static string ExpectedFiles() => string.Join(", ", FrameworkCatalog.All.SelectMany(p => p.ModelFiles).Distinct()) + " or a PyTorch .pt state_dict";

    /// <summary>A run folder's model: the checkpoint its run.json records (verified), or the files at its top (older runs, or a folder of model files).</summary>
    static string ModelFileOf(string folder)
    {
        var run = Reporting.RunFiles.ReadRun(folder);
        if (run?.Checkpoint is { } checkpoint)
            return System.IO.Path.Combine(checkpoint.VerifiedFolder(folder, run.History.Count), checkpoint.ModelFile);
        foreach (string name in FrameworkCatalog.All.SelectMany(p => p.ModelFiles))
        {
            string file = System.IO.Path.Combine(folder, name);
            if (File.Exists(file)) return file;
        }
        throw new FileNotFoundException(run is null
            ? $"{folder}: no trained model here (expected a run folder from 'twintrain train', or {ExpectedFiles()})."
            : $"{folder}: the run completed no epoch, so it has no model.");
    }

    /// <summary>A torch file's architecture: the one named, else model.json in its folder if there is one, else the study's.</summary>
    static Architecture ArchitectureBeside(string file, string? named)
    {
        string beside = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!, Architecture.FileName);
        // Not fitted to a data set here: whether it fits the data is checked where data meets the model (CheckFits).
        if (named is not null) return Architecture.Resolve(named);
        return File.Exists(beside) ? Architecture.Resolve(beside) : Architecture.Study;
    }

    /// <summary>The one refusal for weights with NaN or infinity: a model that diverged gives no meaningful predictions.</summary>
    protected static InvalidDataException NotFinite(string path, string weight) =>
        new($"{path}: the model's weights are not finite (NaN or infinity in '{weight}'); its training diverged, so it cannot be used.");
}
