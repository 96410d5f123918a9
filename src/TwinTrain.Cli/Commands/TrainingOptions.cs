using System.CommandLine;
using TwinTrain.Data;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;

namespace TwinTrain.Cli.Commands;

/// <summary>The options `train` and `compare` share: the data, and everything that defines the training conditions.</summary>
public sealed class TrainingOptions
{
    readonly Option<string> _arch = new("--arch") { Description = $"The network: a preset ({string.Join(", ", Architecture.Presets)}) or a Keras model config file (.json from model.to_json(), or .keras).", DefaultValueFactory = _ => Architecture.Default };
    readonly Option<string?> _data = new("--data") { Description = "The data: CIFAR-10's or CIFAR-100's release as an archive or folder (default: where 'twintrain download' puts it), the folder of MNIST's or Fashion-MNIST's four IDX files, or an image folder (train/<class>/*.jpg|png, test/<class>/...)." };
    readonly Option<string?> _dataset = new("--dataset") { Description = $"The data set: {string.Join(", ", DatasetInfo.Names)} (default: recognised from --data; Fashion-MNIST from Debian's dataset-fashion-mnist when --data is not given)." };
    readonly Option<string?> _labels = new("--labels") { Description = "CIFAR-100's labels: fine (100 classes, the default) or coarse (20 superclasses)." };
    readonly Option<string?> _imageSize = new("--image-size") { Description = "An image folder's images resized to H,W (bilinear, as image_dataset_from_directory); without it they must share one size." };
    readonly Option<string> _color = new("--color") { Description = "An image folder's images as rgb (3 channels) or grayscale (1).", DefaultValueFactory = _ => "rgb" };
    readonly Option<int> _epochs = new("--epochs") { Description = "Passes over the training set.", DefaultValueFactory = _ => 10 };
    readonly Option<int> _batchSize = new("--batch-size") { Description = "Images per training step.", DefaultValueFactory = _ => 64 };
    readonly Option<double> _lr = new("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 0.001 };
    readonly Option<int?> _limitTrain = new("--limit-train") { Description = "Train on N images spread over the training set." };
    readonly Option<int?> _limitTest = new("--limit-test") { Description = "Evaluate on N images spread over the test set." };
    readonly Option<int> _threads = new("--threads") { Description = "CPU threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
    readonly Option<string> _optimizer = new("--optimizer") { Description = "adam (the study's) or sgd.", DefaultValueFactory = _ => "adam" };
    readonly Option<double> _momentum = new("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0 };
    readonly Option<string> _init = new("--init") { Description = "native (each framework's own initialisation, as in the study) or shared (the same weights in both).", DefaultValueFactory = _ => "native" };
    readonly Option<string> _align = new("--align") { Description = "Remove differences between the frameworks' defaults: init (the same initial weights), epsilon (the same Adam epsilon in the same place), bn (the config's BatchNormalization momentum and epsilon in every framework), all (every one that applies), or none; a comma-separated list.", DefaultValueFactory = _ => Alignments.None };
    readonly Option<string?> _cacheDir = new("--cache-dir") { Description = $"Decoded-data cache folder (default: {DatasetLoader.DefaultCacheFolder()})." };
    readonly Option<bool> _noCache = new("--no-cache") { Description = "Decode the data again and do not write a cache." };
    readonly Option<bool> _download = new("--download") { Description = "If no --data is given and the data set is not where 'twintrain download' puts it, download it there first (a terminal asks)." };
    readonly Option<string?> _downloadUrl = new("--download-url") { Hidden = true };
    readonly Option<string?> _downloadMd5 = new("--download-md5") { Hidden = true };
    readonly Option<string?> _python = new("--python") { Description = $"The Python that runs the pytorch framework's worker (default: ${Frameworks.PyTorch.PythonLocator.Variable}, else the first python3 that can import torch)." };
    readonly Option<string?> _tensorBoard = new("--tensorboard") { Description = "Write TensorBoard event files for every run into this folder (as Keras's TensorBoard callback: RUN/train, RUN/validation)." };
    readonly Option<int> _tensorBoardFrequency = new("--tensorboard-update-freq") { Description = "Also write batch_loss and batch_accuracy every N training steps (0: per epoch only).", DefaultValueFactory = _ => 0 };

    public TrainingOptions()
    {
        _optimizer.AcceptOnlyFromAmong([.. Choice.Names<TrainingOptimizer>()]);
        _init.AcceptOnlyFromAmong([.. Choice.Names<Initialisation>()]);
        _dataset.AcceptOnlyFromAmong([.. DatasetInfo.Names]);
        _labels.AcceptOnlyFromAmong("fine", "coarse");
        _color.AcceptOnlyFromAmong("rgb", "grayscale");
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _arch, _data, _dataset, _labels, _imageSize, _color, _epochs, _batchSize, _lr, _limitTrain, _limitTest, _threads, _optimizer, _momentum, _init, _align, _cacheDir, _noCache, _download, _downloadUrl, _downloadMd5, _tensorBoard, _tensorBoardFrequency, _python })
            command.Add(option);
    }

    /// <summary>
    /// The architecture --arch names, checked (it builds; a preset is fitted to the data set asked for, when the
    /// command line names one) before anything runs. <see cref="FitTo"/> fits it to the data once loaded.
    /// </summary>
    public Architecture ResolveArchitecture(ParseResult parse)
    {
        if (parse.GetValue(_python) is { } python) Frameworks.PyTorch.PythonLocator.Override = python;
        var architecture = Architecture.Resolve(parse.GetValue(_arch)!);
        return Requested(parse) is { } dataset ? architecture.ForData(dataset) : architecture;
    }

    /// <summary>
    /// The architecture <see cref="ResolveArchitecture"/> gave, fitted to the data set in hand (its image shape and
    /// classes), and the config naming it: an image folder's shape and classes are only known once it is read. One
    /// already fitted to the data set asked for fits the data read (the loader refuses data of another set).
    /// </summary>
    public static (Architecture Architecture, TrainingConfig Config) FitTo(Architecture architecture, TrainingConfig config, DatasetInfo data)
    {
        var fitted = architecture.ForData(data);
        return (fitted, config with { Arch = fitted.Name, ArchDigest = fitted.Digest });
    }

    /// <summary>
    /// The data set asked for: --dataset (with --labels), else the one a resumed run recorded, else what --data (or
    /// the run's source) holds as far as its names tell; null when only reading it can tell.
    /// </summary>
    DatasetInfo? Requested(ParseResult parse, string? defaultSource = null, DatasetInfo? recorded = null)
    {
        var named = DatasetInfo.Requested(parse.GetValue(_dataset), parse.GetValue(_labels)) ?? recorded;
        return DatasetLoader.Recognise(parse.GetValue(_data) ?? defaultSource ?? "", named);
    }

    /// <summary>--image-size and --color; a resumed run's own unless given again.</summary>
    ImageFolderOptions Images(ParseResult parse, ImageFolderOptions? recorded)
    {
        var (height, width) = parse.GetValue(_imageSize) is { } size ? ImageFolderOptions.ParseSize(size) : (recorded?.Height, recorded?.Width) switch
        {
            (int h, int w) => (h, w),
            _ => ((int?)null, (int?)null),
        };
        bool grayscale = parse.GetResult(_color) is { Implicit: false } ? ImageFolderOptions.ParseGrayscale(parse.GetValue(_color)!) : recorded?.Grayscale ?? false;
        return new ImageFolderOptions(height, width, grayscale);
    }

    /// <summary>--python, for commands that do not resolve an architecture (resume).</summary>
    public void ApplyPython(ParseResult parse)
    {
        if (parse.GetValue(_python) is { } python) Frameworks.PyTorch.PythonLocator.Override = python;
    }

    /// <summary>The validated training conditions given on the command line, with the architecture's name and digest.</summary>
    public TrainingConfig Config(ParseResult parse, Architecture architecture, int seed = 0)
    {
        var config = new TrainingConfig
        {
            Arch = architecture.Name,
            ArchDigest = architecture.Digest,
            Epochs = parse.GetValue(_epochs),
            BatchSize = parse.GetValue(_batchSize),
            LearningRate = parse.GetValue(_lr),
            Seed = seed,
            LimitTrain = parse.GetValue(_limitTrain),
            LimitTest = parse.GetValue(_limitTest),
            Threads = parse.GetValue(_threads),
            Optimizer = Choice.Parse<TrainingOptimizer>(parse.GetValue(_optimizer)!, "--optimizer"),
            Momentum = parse.GetValue(_momentum),
            Init = Choice.Parse<Initialisation>(parse.GetValue(_init)!, "--init"),
        };
        config = AlignAs(parse, config);
        config.Validate();
        WarnIfOversubscribed(config.Threads, parse.InvocationConfiguration.Error);
        return config;
    }

    /// <summary>The config with --align's factors applied (on top of --init shared, which is --align init).</summary>
    TrainingConfig AlignAs(ParseResult parse, TrainingConfig config)
    {
        string list = parse.GetValue(_align)!;
        var factors = Alignments.Parse(list);
        // "all" is every difference that applies to this network and optimizer; one named that does not is an error.
        bool all = list.Split(',', StringSplitOptions.TrimEntries).Contains(Alignments.All);
        foreach (var factor in factors.Where(f => !all && !Alignments.Applies(f, config)))
            throw new ArgumentException(factor.Name == "bn"
                ? $"--align bn applies to networks with BatchNormalization only ({config.Arch} has none)."
                : $"--align {factor.Name} applies to --optimizer adam only (SGD has no epsilon).");
        return factors.Where(f => Alignments.Applies(f, config)).Aggregate(config, (c, f) => f.Apply(c));
    }

    /// <summary>Whether --align was given (an ablation sets the alignments itself).</summary>
    public bool AlignGiven(ParseResult parse) => parse.GetResult(_align) is { Implicit: false } || parse.GetResult(_init) is { Implicit: false };

    /// <summary>More threads than cores is legal but slows both frameworks (libtorch by up to 50x): say so once.</summary>
    public static void WarnIfOversubscribed(int threads, TextWriter error)
    {
        if (threads > Environment.ProcessorCount)
            error.WriteLine($"warning: --threads {threads} is more than this machine's {Environment.ProcessorCount} cores; " +
                "both frameworks slow down when their threads outnumber the cores (libtorch badly), so timings will not be representative.");
    }

    /// <summary>The TensorBoard folder for the run named <paramref name="run"/> (--tensorboard DIR gives DIR/run), or null.</summary>
    public (string Folder, int UpdateFrequency)? TensorBoard(ParseResult parse, string run)
    {
        if (parse.GetValue(_tensorBoard) is not { } folder) return null;
        int frequency = parse.GetValue(_tensorBoardFrequency);
        if (frequency < 0) throw new ArgumentException($"--tensorboard-update-freq must be 0 (per epoch) or more (got {frequency}).");
        return (Path.Combine(folder, run), frequency);
    }

    /// <summary>--epochs if the user gave it, else null.</summary>
    public int? ExplicitEpochs(ParseResult parse) => parse.GetResult(_epochs) is { Implicit: false } ? parse.GetValue(_epochs) : null;

    /// <summary>
    /// Loads the data set (through the cache) and takes the limited subsets, telling the user what it did; a resumed
    /// run gives the source and data set it recorded.
    /// </summary>
    public (Dataset Data, DataSummary Summary) LoadData(ParseResult parse, TrainingConfig config, TextWriter console, DataSummary? recorded = null)
    {
        Uri? address = null;
        if (parse.GetValue(_downloadUrl) is { } url && !Uri.TryCreate(url, UriKind.Absolute, out address))
            throw new ArgumentException($"--download-url: '{url}' is not an address.");
        var dataset = Requested(parse, recorded?.Source, recorded?.Info());
        var images = Images(parse, recorded?.Images);
        string source = DataLocation.ResolveOrDownload(parse.GetValue(_data) ?? recorded?.Source, dataset, parse.GetValue(_download),
            address, parse.GetValue(_downloadMd5), console, CancellationToken.None);
        console.WriteLine($"Loading {dataset?.Name ?? "the data"} from {source}" + (images == ImageFolderOptions.Default ? "" : $" ({images})"));
        var (full, report) = DatasetLoader.Load(source, parse.GetValue(_cacheDir), !parse.GetValue(_noCache), dataset, images);
        var data = full.Limit(config.LimitTrain, config.LimitTest);
        console.WriteLine($"  {data.Train.Count:N0} training and {data.Test.Count:N0} test images" +
            (dataset is null ? $" of {data.Info.Title} ({data.Info.Shape}, {data.Info.Classes} classes)" : "") +
            $" ({(report.FromCache ? "from cache" : report.Form)}, {report.Seconds:F2}s)" +
            (report.CacheNote is not null && !report.FromCache ? $"; cache: {report.CacheNote}" : ""));
        return (data, new DataSummary(source, report.Form, report.FromCache, report.Seconds, data.Train.Count, data.Test.Count, report.Decoder)
            .WithDataset(data.Info, images));
    }
}
