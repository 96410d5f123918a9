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
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds; each gives both frameworks one run.", DefaultValueFactory = _ => "0,1,2" };
        var output = new Option<string>("--out", "-o") { Description = "Output folder; rerunning with the same one continues.", DefaultValueFactory = _ => "comparison" };
        var force = new Option<bool>("--force") { Description = "Redo runs that are already complete." };
        var training = new TrainingOptions();
        var command = new Command("compare", "Train a network (--arch; default the study's CNN) with both frameworks under identical conditions and compare them.")
        {
            seeds, output, force,
        };
        training.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var architecture = training.ResolveArchitecture(parse);
            var config = new CompareConfig(training.Config(parse, architecture), ParseSeeds(parse.GetValue(seeds)!), ["keras", "torch"], parse.GetValue(force));
            var console = parse.InvocationConfiguration.Output;
            var (cifar, summary) = training.LoadData(parse, config.Training, console);

            string folder = parse.GetValue(output)!;
            var board = training.TensorBoard(parse, "");
            var result = new ComparisonRunner(console, !Console.IsOutputRedirected) { TensorBoard = board }
                .Run(config, architecture, cifar, summary, folder, cancel);
            var charts = Charts.Write(result, Path.Combine(folder, "charts"));
            Report.Write(result, folder, charts, Listings.Load());
            console.WriteLine();
            console.Write(SummaryTable.Format(result));
            console.WriteLine($"Wrote {Path.GetFullPath(folder)}: {ComparisonRunner.ResultsFile}, {Report.Markdown}, {Report.Html}, charts/ ({charts.Count} charts as PNG and SVG)");
            bool incomplete = result.Runs.Any(r => r.Error is not null || r.Summary?.Status == RunSummary.Diverged);
            return Task.FromResult(result.Interrupted ? CommandRunner.Interrupted : incomplete ? CommandRunner.Failure : 0);
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
