using System.CommandLine;
using System.Globalization;
using TwinTrain.Data;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Frameworks;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain train`: train the study's CNN with one framework and write history.csv, run.json and weights.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var framework = new Option<string>("--framework", "-f") { Description = "Which framework trains: torch or keras.", Required = true };
        framework.AcceptOnlyFromAmong([.. FrameworkCatalog.Names]);
        var data = new Option<string?>("--data") { Description = "CIFAR-10 as an archive or folder (default: where 'twintrain download' puts it)." };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set.", DefaultValueFactory = _ => 10 };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per training step.", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "Adam's learning rate.", DefaultValueFactory = _ => 0.001 };
        var seed = new Option<int>("--seed") { Description = "Seed for initial weights and the sample order.", DefaultValueFactory = _ => 0 };
        var limitTrain = new Option<int?>("--limit-train") { Description = "Train on N images spread over the training set." };
        var limitTest = new Option<int?>("--limit-test") { Description = "Evaluate on N images spread over the test set." };
        var threads = new Option<int>("--threads") { Description = "CPU threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var output = new Option<string?>("--out", "-o") { Description = "Output folder (default: runs/<framework>-<time>)." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = $"Decoded-data cache folder (default: {CifarLoader.DefaultCacheFolder()})." };
        var noCache = new Option<bool>("--no-cache") { Description = "Decode the data again and do not write a cache." };
        var optimizer = new Option<string>("--optimizer") { Description = "adam (the study's) or sgd.", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong([.. TrainingConfig.Optimizers]);
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0 };
        var init = new Option<string>("--init") { Description = "native (each framework's own initialisation) or shared (the same weights in both).", DefaultValueFactory = _ => "native" };
        init.AcceptOnlyFromAmong([.. TrainingConfig.Inits]);

        var command = new Command("train", "Train the study's CNN on CIFAR-10 with one framework.")
        {
            framework, data, epochs, batchSize, lr, seed, limitTrain, limitTest, threads, output, cacheDir, noCache,
            optimizer, momentum, init,
        };
        command.SetAction((parse, cancel) =>
        {
            var config = new TrainingConfig
            {
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(lr),
                Seed = parse.GetValue(seed),
                LimitTrain = parse.GetValue(limitTrain),
                LimitTest = parse.GetValue(limitTest),
                Threads = parse.GetValue(threads),
                Optimizer = parse.GetValue(optimizer)!,
                Momentum = parse.GetValue(momentum),
                Init = parse.GetValue(init)!,
            };
            config.Validate();
            string name = parse.GetValue(framework)!;
            string outFolder = parse.GetValue(output)
                ?? Path.Combine("runs", $"{name}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
            var console = parse.InvocationConfiguration.Output;
            return Task.FromResult(Run(name, config, DataLocation.Resolve(parse.GetValue(data)), parse.GetValue(cacheDir),
                !parse.GetValue(noCache), outFolder, console, cancel));
        });
        return command;
    }

    static int Run(string name, TrainingConfig config, string source, string? cacheDir, bool useCache,
        string outFolder, TextWriter console, CancellationToken cancel)
    {
        console.WriteLine($"Loading CIFAR-10 from {source}");
        var (full, report) = CifarLoader.Load(source, cacheDir, useCache);
        var data = new Cifar10(full.Train.Subset(config.LimitTrain ?? int.MaxValue), full.Test.Subset(config.LimitTest ?? int.MaxValue));
        console.WriteLine($"  {data.Train.Count:N0} training and {data.Test.Count:N0} test images " +
            $"({(report.FromCache ? "from cache" : report.Form)}, {report.Seconds:F2}s)" +
            (report.CacheNote is not null && !report.FromCache ? $"; cache: {report.CacheNote}" : ""));
        var dataSummary = new DataSummary(source, report.Form, report.FromCache, report.Seconds, data.Train.Count, data.Test.Count);

        using var model = FrameworkCatalog.Create(name, config, data.Train);
        console.WriteLine($"Framework {name} ({string.Join(", ", model.Versions.Select(v => $"{v.Key} {v.Value}"))}), " +
            $"{model.ParameterCount:N0} parameters, {config.Threads} threads, batch {config.BatchSize}, " +
            $"{(config.Optimizer == "sgd" ? $"SGD momentum {config.Momentum}" : "Adam")} lr {config.LearningRate}, init {config.Init}");

        var summary = new TrainingRun(console, liveProgress: !Console.IsOutputRedirected)
            .Execute(model, config, data, dataSummary, outFolder, cancel);

        console.WriteLine();
        if (summary.TestAccuracy is double accuracy)
            console.WriteLine($"Test accuracy {accuracy * 100:F2}%, test loss {summary.TestLoss:F4} after {summary.History.Count} epoch(s).");
        console.WriteLine($"Training {summary.TrainingSeconds:F1}s ({summary.TrainImagesPerSecond:F0} images/s), " +
            $"wall {summary.WallSeconds:F1}s, peak memory {summary.PeakMemoryBytes / (1024.0 * 1024):F0} MiB.");
        console.WriteLine($"Wrote {Path.GetFullPath(outFolder)} (history.csv, run.json, {summary.WeightsFile}).");
        return summary.Status == "completed" ? 0 : 130;
    }
}
