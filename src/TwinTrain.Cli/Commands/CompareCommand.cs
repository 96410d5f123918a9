using System.CommandLine;
using TwinTrain.Data;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Comparison;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain compare`: the study reproduced, both frameworks under identical conditions over several seeds.</summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "CIFAR-10 as an archive or folder (default: where 'twintrain download' puts it)." };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set.", DefaultValueFactory = _ => 10 };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per training step.", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 0.001 };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds; each gives both frameworks one run.", DefaultValueFactory = _ => "0,1,2" };
        var init = new Option<string>("--init") { Description = "native (each framework's own initialisation, as in the study) or shared.", DefaultValueFactory = _ => "native" };
        init.AcceptOnlyFromAmong([.. TrainingConfig.Inits]);
        var optimizer = new Option<string>("--optimizer") { Description = "adam (the study's) or sgd.", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong([.. TrainingConfig.Optimizers]);
        var threads = new Option<int>("--threads") { Description = "CPU threads, the same for both.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var limitTrain = new Option<int?>("--limit-train") { Description = "Train on N images spread over the training set." };
        var limitTest = new Option<int?>("--limit-test") { Description = "Evaluate on N images spread over the test set." };
        var output = new Option<string>("--out", "-o") { Description = "Output folder; rerunning with the same one continues.", DefaultValueFactory = _ => "comparison" };
        var force = new Option<bool>("--force") { Description = "Redo runs that are already complete." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Decoded-data cache folder." };

        var command = new Command("compare", "Train the study's CNN with both frameworks under identical conditions and compare them.")
        {
            data, epochs, batchSize, lr, seeds, init, optimizer, threads, limitTrain, limitTest, output, force, cacheDir,
        };
        command.SetAction((parse, cancel) =>
        {
            var training = new TrainingConfig
            {
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(lr),
                Threads = parse.GetValue(threads),
                LimitTrain = parse.GetValue(limitTrain),
                LimitTest = parse.GetValue(limitTest),
                Optimizer = parse.GetValue(optimizer)!,
                Init = parse.GetValue(init)!,
            };
            training.Validate();
            var config = new CompareConfig(training, ParseSeeds(parse.GetValue(seeds)!), ["keras", "torch"], parse.GetValue(force));
            var console = parse.InvocationConfiguration.Output;

            string source = DataLocation.Resolve(parse.GetValue(data));
            console.WriteLine($"Loading CIFAR-10 from {source}");
            var (full, report) = CifarLoader.Load(source, parse.GetValue(cacheDir));
            var cifar = new Cifar10(full.Train.Subset(training.LimitTrain ?? int.MaxValue), full.Test.Subset(training.LimitTest ?? int.MaxValue));
            var summary = new DataSummary(source, report.Form, report.FromCache, report.Seconds, cifar.Train.Count, cifar.Test.Count);

            string folder = parse.GetValue(output)!;
            var result = new ComparisonRunner(console, !Console.IsOutputRedirected).Run(config, cifar, summary, folder, cancel);
            var charts = Charts.Write(result, Path.Combine(folder, "charts"));
            Report.Write(result, folder, charts, Listings.Load());
            console.WriteLine();
            console.Write(SummaryTable.Format(result));
            console.WriteLine($"Wrote {Path.GetFullPath(folder)}: {ComparisonRunner.ResultsFile}, {Report.Markdown}, {Report.Html}, charts/ ({charts.Count} charts as PNG and SVG)");
            return Task.FromResult(result.Interrupted ? 130 : result.Runs.Any(r => r.Error is not null) ? 1 : 0);
        });
        return command;
    }

    static int[] ParseSeeds(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var seeds = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], out seeds[i]))
                throw new ArgumentException($"--seeds: '{parts[i]}' is not a whole number (expected e.g. 0,1,2).");
        }
        if (seeds.Length == 0) throw new ArgumentException("--seeds needs at least one seed.");
        if (seeds.Distinct().Count() != seeds.Length) throw new ArgumentException("--seeds lists a seed twice.");
        return seeds;
    }
}
