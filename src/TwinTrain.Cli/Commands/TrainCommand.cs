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
        var seed = new Option<int>("--seed") { Description = "Seed for initial weights and the sample order.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out", "-o") { Description = "Output folder (default: runs/<framework>-<time>)." };
        var training = new TrainingOptions();
        var command = new Command("train", "Train the study's CNN on CIFAR-10 with one framework.") { framework, seed, output };
        training.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var config = training.Config(parse, parse.GetValue(seed));
            string name = parse.GetValue(framework)!;
            string outFolder = parse.GetValue(output)
                ?? Path.Combine("runs", $"{name}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
            var console = parse.InvocationConfiguration.Output;
            var (data, dataSummary) = training.LoadData(parse, config, console);
            return Task.FromResult(Run(name, config, data, dataSummary, outFolder, console, cancel));
        });
        return command;
    }

    static int Run(string name, TrainingConfig config, Cifar10 data, DataSummary dataSummary, string outFolder,
        TextWriter console, CancellationToken cancel)
    {
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
