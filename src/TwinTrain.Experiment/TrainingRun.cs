using System.Diagnostics;
using TwinTrain.Data;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Reporting;
using TwinTrain.Keras.Utils;

namespace TwinTrain.Experiment;

/// <summary>What a run's data was: where it came from and how many images were used.</summary>
public sealed record DataSummary(string Source, string Form, bool FromCache, double LoadSeconds, int TrainImages, int TestImages);

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
    int[][]? ConfusionMatrix = null);

/// <summary>
/// Trains a framework epoch by epoch, evaluating on the test set after each, with a Keras-like progress bar.
/// history.csv and run.json are rewritten after every epoch, so an interrupted or killed run keeps what it did.
/// </summary>
public sealed class TrainingRun(TextWriter console, bool liveProgress)
{
    public RunSummary Execute(IFramework framework, TrainingConfig config, Cifar10 data, DataSummary dataSummary,
        string outFolder, CancellationToken stop)
    {
        Directory.CreateDirectory(outFolder);
        var started = DateTime.UtcNow;
        var wall = Stopwatch.StartNew();
        var history = new List<EpochRecord>();
        double trainingSeconds = 0;
        long trainedImages = 0;
        string? interruptedAt = null;
        string? weights = null;

        RunSummary Summary(string status) => new(
            framework.Name, status, interruptedAt, config, MachineInfo.Current, framework.Versions, dataSummary,
            framework.ParameterCount, history, history.LastOrDefault()?.ValLoss, history.LastOrDefault()?.ValAccuracy,
            trainingSeconds, wall.Elapsed.TotalSeconds, trainingSeconds > 0 ? trainedImages / trainingSeconds : 0,
            MachineInfo.PeakMemoryBytes(), weights, started, DateTime.UtcNow);

        for (int epoch = 0; epoch < config.Epochs; epoch++)
        {
            console.WriteLine($"Epoch {epoch + 1}/{config.Epochs}");
            var bar = new Progbar(console, framework.StepsPerEpoch, liveProgress);
            var epochClock = Stopwatch.StartNew();
            int steps = 0;
            var train = framework.TrainEpoch(epoch, (step, running) =>
            {
                steps = step;
                bar.Update(step, Values(running));
            }, stop);
            double trainSeconds = epochClock.Elapsed.TotalSeconds;
            trainingSeconds += trainSeconds;
            trainedImages += train.Samples;

            if (stop.IsCancellationRequested && steps < framework.StepsPerEpoch)
            {
                bar.Finish(steps, Values(train));
                interruptedAt = $"epoch {epoch + 1}, step {steps}/{framework.StepsPerEpoch}";
                console.WriteLine($"Interrupted at {interruptedAt}; writing what was done.");
                break;
            }

            var test = framework.Evaluate(data.Test);
            bar.Finish(steps, Values(train).Concat(Values(test, "val_")));
            history.Add(new EpochRecord(epoch + 1, train.Loss, train.Accuracy, test.Loss, test.Accuracy,
                epochClock.Elapsed.TotalSeconds, train.Samples / trainSeconds));
            RunFiles.WriteHistory(outFolder, history);
            RunFiles.WriteJson(Path.Combine(outFolder, RunFiles.Run), Summary("running"));
            if (stop.IsCancellationRequested && epoch + 1 < config.Epochs)
            {
                interruptedAt = $"after epoch {epoch + 1}";
                break;
            }
        }

        weights = framework.SaveWeights(outFolder);
        RunFiles.WriteHistory(outFolder, history);
        var summary = Summary(interruptedAt is null ? "completed" : "interrupted");
        if (interruptedAt is null && history.Count > 0) summary = summary with { ConfusionMatrix = Confusion(framework.PredictClasses(data.Test), data.Test.Labels) };
        RunFiles.WriteJson(Path.Combine(outFolder, RunFiles.Run), summary);
        return summary;
    }

    /// <summary>Rows are true classes, columns predicted classes.</summary>
    static int[][] Confusion(int[] predicted, byte[] labels)
    {
        var matrix = Enumerable.Range(0, CifarClasses.Count).Select(_ => new int[CifarClasses.Count]).ToArray();
        for (int i = 0; i < labels.Length; i++) matrix[labels[i]][predicted[i]]++;
        return matrix;
    }

    static IEnumerable<KeyValuePair<string, double>> Values(Metrics metrics, string prefix = "") =>
    [
        new($"{prefix}accuracy", metrics.Accuracy),
        new($"{prefix}loss", metrics.Loss),
    ];
}
