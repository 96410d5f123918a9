using System.Diagnostics;
using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Reporting;
using TwinTrain.Keras.Utils;

namespace TwinTrain.Experiment;

/// <summary>
/// What a run's data was: where it came from, how many images were used, and what decoded an image folder's pixels.
/// </summary>
public sealed record DataSummary(string Source, string Form, bool FromCache, double LoadSeconds, int TrainImages, int TestImages, string? Decoder = null)
{
    /// <summary>The data set's name (runs recorded before data sets were a parameter are CIFAR-10's).</summary>
    public string Dataset { get; init; } = DatasetInfo.Cifar10.Name;

    /// <summary>Height, width, channels of its images.</summary>
    public int[] ImageShape { get; init; } = DatasetInfo.Cifar10.Shape.ChannelsLast;

    /// <summary>Label i's name.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = DatasetInfo.Cifar10.ClassNames;

    /// <summary>The data set's title (an image folder's is its folder's name); null in runs recorded before titles.</summary>
    public string? Title { get; init; }

    /// <summary>An image folder's --image-size (height, width), when its images were resized.</summary>
    public int[]? ImageSize { get; init; }

    /// <summary>An image folder's --color, when not rgb.</summary>
    public string? Color { get; init; }

    /// <summary>The data set this records (one error when it names none this TwinTrain knows).</summary>
    public DatasetInfo Info() => DatasetInfo.Recorded(Dataset, ImageShape, ClassNames, Title);

    /// <summary>How the image folder's images were made, as recorded.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public ImageFolderOptions Images => new(ImageSize?[0], ImageSize?[1], Color == "grayscale");

    /// <summary>The record of a data set loaded as <paramref name="images"/> says.</summary>
    public DataSummary WithDataset(DatasetInfo info, ImageFolderOptions images) => this with
    {
        Dataset = info.Name,
        Title = info.Title,
        ImageShape = info.Shape.ChannelsLast,
        ClassNames = info.ClassNames,
        ImageSize = images.Resizes ? [images.Height!.Value, images.Width!.Value] : null,
        Color = images.Grayscale ? "grayscale" : null,
    };

    /// <summary>Whether the runs trained on CIFAR-10, the study's data set (its figures only make sense beside those).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsStudysDataset => Dataset == DatasetInfo.Cifar10.Name;
}

/// <summary>Everything about one training run; written as run.json.</summary>
public sealed record RunSummary(
    string Framework,
    string Status,
    string? InterruptedAt,
    TrainingConfig Config,
    MachineInfo Machine,
    IReadOnlyDictionary<string, string> Versions,
    DataSummary Data,
    long Parameters,
    IReadOnlyList<EpochRecord> History,
    double? TestLoss,
    double? TestAccuracy,
    double TrainingSeconds,
    double WallSeconds,
    double TrainImagesPerSecond,
    long PeakMemoryBytes,
    string? WeightsFile,
    DateTime StartedUtc,
    DateTime FinishedUtc,
    int[][]? ConfusionMatrix = null,
    ModelDescription? Model = null,
    string? DivergedAt = null,
    CheckpointRecord? Checkpoint = null,
    MachineLoad? Load = null,
    IReadOnlyList<FrameworkSetting>? Settings = null,
    string? DivergedBecause = null,
    long? RunMemoryBytes = null,
    string? RunMemoryMeasure = null)
{
    /// <summary>A run's status in run.json: completed, interrupted, running (between commits), or diverged (see <see cref="DivergenceRule"/>: a result, not a success).</summary>
    public const string Completed = "completed", Interrupted = "interrupted", Running = "running", Diverged = "diverged";

    /// <summary>
    /// The loss beyond which a run has diverged, the same for every framework: 100 times the loss of a uniform guess
    /// over the classes (100 × ln 10 ≈ 230 for CIFAR-10), which no run that learns reaches, while a finite loss can
    /// grow without bound (TorchSharp's reached 9.7e25 at a learning rate of 1e5 and stayed finite).
    /// </summary>
    public static double DivergenceBound(int classes) => 100 * Math.Log(Math.Max(classes, 2));

    /// <summary>How <see cref="RunMemoryBytes"/> was measured: a worker's own peak, or this process's peak above what it held when the run began.</summary>
    public const string WorkerMemory = "the worker process's peak", AddedMemory = "peak above what the process held when the run began";

    /// <summary>"212 MiB (peak above what ...); process peak 1,180 MiB", for the terminal.</summary>
    public string MemoryText() => RunMemoryBytes is long own
        ? Invariant.F($"{own / 1048576.0:N0} MiB for the run ({RunMemoryMeasure}); process peak {PeakMemoryBytes / 1048576.0:N0} MiB")
        : Invariant.F($"process peak {PeakMemoryBytes / 1048576.0:N0} MiB");

    /// <summary>The rule as the report states it.</summary>
    public static string DivergenceRule(int classes) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"A run has diverged, in every framework alike, when its running mean training loss is not finite or exceeds 100 × ln {classes} = {DivergenceBound(classes):F0} (a hundred times the loss of a uniform guess over the {classes} classes); it stops after that step, keeps its last whole epoch's model, and is left out of the statistics.");
}

/// <summary>
/// Trains a framework epoch by epoch, evaluating on the test set after each, with a Keras-like progress bar.
/// After every epoch a checkpoint folder is written whole and then committed by one atomic rewrite of run.json, so a
/// run folder killed at any instant is at its last completed epoch or the one before, never a mix.
/// </summary>
public sealed class TrainingRun(TextWriter console, bool liveProgress)
{
    /// <summary>Where to write this run's TensorBoard files (RUN/train, RUN/validation), and every how many steps the batch values; null for none.</summary>
    public (string Folder, int UpdateFrequency)? TensorBoard { get; init; }

    /// <summary>Added to each "Epoch i/n" line (a comparison's place and time left), given the epoch from 0.</summary>
    public Func<int, string>? EpochNote { get; init; }

    /// <summary>Told of each completed epoch (a comparison learns its speed from them).</summary>
    public Action<EpochRecord>? EpochDone { get; init; }

    /// <summary>
    /// The process's resident bytes when this run began, before its framework was built (<see cref="MachineInfo.StartRunMemory"/>),
    /// so that the run's own memory is its peak above it; null: not measured.
    /// </summary>
    public long? ResidentAtStart { get; init; }

    /// <summary>
    /// What the run itself needed: a worker's own peak, or this process's peak during the run minus what was resident
    /// when it began (the larger of this and the resumed part's), and which of the two it is.
    /// </summary>
    (long? Bytes, string? Measure) RunMemory(IFramework framework, RunSummary? resume)
    {
        var (own, measure) = framework.PeakMemoryBytes is long worker ? (worker, RunSummary.WorkerMemory)
            : ResidentAtStart is long start ? (Math.Max(0, MachineInfo.PeakMemoryBytes() - start), RunSummary.AddedMemory)
            : ((long?)null, resume?.RunMemoryMeasure);
        return (resume?.RunMemoryBytes is long earlier && own is long now ? Math.Max(earlier, now) : own ?? resume?.RunMemoryBytes, measure);
    }

    /// <summary>
    /// Trains epochs [resumed epochs, config.Epochs). After each epoch the model and optimizer are checkpointed, so
    /// an interrupted run keeps the model as of its last whole epoch and can continue from it (<paramref name="resume"/>:
    /// the earlier run's summary, whose checkpoint the framework has already loaded).
    /// </summary>
    public RunSummary Execute(IFramework framework, TrainingConfig config, Architecture architecture, Dataset data, DataSummary dataSummary,
        string outFolder, CancellationToken stop, RunSummary? resume = null)
    {
        Directory.CreateDirectory(outFolder);
        // Anything under checkpoint/ that run.json does not record is a leftover (an older run, or a crash mid-write).
        CheckpointRecord.RemoveOthers(outFolder, resume?.Checkpoint);
        // The network as this framework trains it (its own defaults put in), so the folder says what it trained.
        architecture = framework.Network ?? architecture;
        architecture.WriteTo(outFolder);
        var model = ModelDescription.Of(architecture);
        var started = resume?.StartedUtc ?? DateTime.UtcNow;
        var wall = Stopwatch.StartNew();
        var history = new List<EpochRecord>(resume?.History ?? []);
        double trainingSeconds = resume?.TrainingSeconds ?? 0;
        long trainedImages = (long)history.Count * data.Train.Count;
        string? interruptedAt = null;
        string? weights = resume?.WeightsFile;
        var checkpoint = resume?.Checkpoint;

        double previousWall = resume?.WallSeconds ?? 0;
        var load = new MachineLoadMeter(config.Threads);
        var settings = framework.Settings;
        RunSummary Summary(string status)
        {
            var memory = RunMemory(framework, resume);
            return new(
                framework.Name, status, interruptedAt, config, MachineInfo.Current, framework.Versions, dataSummary,
                framework.ParameterCount, history, history.LastOrDefault()?.ValLoss, history.LastOrDefault()?.ValAccuracy,
                trainingSeconds, previousWall + wall.Elapsed.TotalSeconds, trainingSeconds > 0 ? trainedImages / trainingSeconds : 0,
                Math.Max(framework.PeakMemoryBytes ?? MachineInfo.PeakMemoryBytes(), resume?.PeakMemoryBytes ?? 0), weights, started, DateTime.UtcNow, Model: model,
                Checkpoint: checkpoint, Load: load.Measure()?.Plus(resume?.Load), Settings: settings, RunMemoryBytes: memory.Bytes, RunMemoryMeasure: memory.Measure);
        }

        using var board = TensorBoard is { } tb ? new TensorBoardRun(tb.Folder, tb.UpdateFrequency) : null;
        string? divergedAt = null, divergedBecause = null;
        int classes = architecture.OutputSize;
        double bound = RunSummary.DivergenceBound(classes);
        // A NaN or infinite loss stops training after that step (as Keras's TerminateOnNaN), through this token.
        using var diverging = CancellationTokenSource.CreateLinkedTokenSource(stop);
        for (int epoch = history.Count; epoch < config.Epochs; epoch++)
        {
            // Keras prints "Epoch i/N" only for N above 1 (progbar_logger.py); a comparison's line also says where it is.
            if (config.Epochs > 1 || EpochNote is not null)
                console.WriteLine($"Epoch {epoch + 1}/{config.Epochs}" + (EpochNote is { } note ? $" ({note(epoch)})" : ""));
            var bar = new Progbar(console, framework.StepsPerEpoch, liveProgress);
            var epochClock = Stopwatch.StartNew();
            load.Sample();
            int steps = 0;
            int current = epoch;
            var train = framework.TrainEpoch(epoch, (step, running) =>
            {
                steps = step;
                bar.Update(step, Values(running));
                board?.Step((long)current * framework.StepsPerEpoch + step, running.Loss, running.Accuracy);
                if (divergedAt is null && (!double.IsFinite(running.Loss) || running.Loss > bound))
                {
                    divergedAt = $"epoch {current + 1}, step {step}/{framework.StepsPerEpoch}";
                    divergedBecause = double.IsNaN(running.Loss) ? "the loss became NaN"
                        : double.IsInfinity(running.Loss) ? "the loss became infinite"
                        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"the loss reached {running.Loss:G3}, beyond 100 × ln {classes} = {bound:F0}");
                    diverging.Cancel();
                }
            }, diverging.Token);
            double trainSeconds = framework.LastEpochSeconds ?? epochClock.Elapsed.TotalSeconds;
            trainingSeconds += trainSeconds;
            trainedImages += train.Samples;

            if (divergedAt is not null)
            {
                bar.Finish(steps, Values(train));
                console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Training diverged: {divergedBecause} at {divergedAt} (learning rate {config.LearningRate}). ") +
                    (history.Count > 0 ? $"The saved model is the one after epoch {history.Count}." : "No epoch was completed, so no model was saved."));
                break;
            }

            if (stop.IsCancellationRequested && steps < framework.StepsPerEpoch)
            {
                bar.Finish(steps, Values(train));
                interruptedAt = $"epoch {epoch + 1}, step {steps}/{framework.StepsPerEpoch}";
                console.WriteLine($"Interrupted at {interruptedAt}; writing what was done. " +
                    (history.Count > 0 ? $"The saved model is the one after epoch {history.Count}; 'twintrain train --resume {outFolder}' continues from there." : "No epoch was completed, so no model was saved."));
                break;
            }

            var test = framework.Evaluate(data.Test);
            bar.Finish(steps, Values(train).Concat(Values(test, "val_")));
            history.Add(new EpochRecord(epoch + 1, train.Loss, train.Accuracy, test.Loss, test.Accuracy,
                epochClock.Elapsed.TotalSeconds, train.Samples / trainSeconds));
            board?.Epoch(epoch, (long)(epoch + 1) * framework.StepsPerEpoch, config.LearningRate, history[^1]);
            EpochDone?.Invoke(history[^1]);
            checkpoint = CheckpointRecord.Write(outFolder, epoch + 1, architecture, framework.SaveCheckpoint);
            weights = checkpoint.ModelPath;
            RunFiles.WriteJson(Path.Combine(outFolder, RunFiles.Run), Summary(RunSummary.Running)); // the commit point
            CheckpointRecord.RemoveOthers(outFolder, checkpoint);
            RunFiles.WriteHistory(outFolder, history);
            if (stop.IsCancellationRequested && epoch + 1 < config.Epochs)
            {
                interruptedAt = $"after epoch {epoch + 1}";
                break;
            }
        }

        var summary = divergedAt is not null ? Summary(RunSummary.Diverged) with { DivergedAt = divergedAt, DivergedBecause = divergedBecause }
            : Summary(interruptedAt is null ? RunSummary.Completed : RunSummary.Interrupted);
        if (summary.Status == RunSummary.Completed && history.Count > 0) summary = summary with { ConfusionMatrix = Confusion(framework.PredictClasses(data.Test), data.Test.Labels, data.Info.Classes) };
        RunFiles.WriteHistory(outFolder, history); // current already, unless a crash came between a commit and its history
        RunFiles.WriteJson(Path.Combine(outFolder, RunFiles.Run), summary);
        return summary;
    }

    /// <summary>
    /// The verified checkpoint folder a run continues from (null when it completed no epoch): the one run.json
    /// records, whose files must all match their SHA-256 and whose epoch must be the history's last.
    /// </summary>
    public static string? CheckpointToResume(string runFolder, RunSummary previous)
    {
        if (previous.History.Count == 0) return null;
        // Run folders from before checkpoint folders kept the files at the top.
        return previous.Checkpoint?.VerifiedFolder(runFolder, previous.History.Count) ?? runFolder;
    }

    /// <summary>Rows are true classes, columns predicted classes.</summary>
    static int[][] Confusion(int[] predicted, byte[] labels, int classes)
    {
        var matrix = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
        for (int i = 0; i < labels.Length; i++) matrix[labels[i]][predicted[i]]++;
        return matrix;
    }

    static IEnumerable<KeyValuePair<string, double>> Values(Metrics metrics, string prefix = "") =>
    [
        new($"{prefix}accuracy", metrics.Accuracy),
        new($"{prefix}loss", metrics.Loss),
    ];
}
