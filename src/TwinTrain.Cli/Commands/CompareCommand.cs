using System.CommandLine;
using System.Globalization;
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
        var ablate = new Option<bool>("--ablate") { Description = "Run every seed with nothing aligned, each --align difference alone, and all together, and report what each explains." };
        var frameworks = new Option<string>("--frameworks") { Description = $"Comma-separated frameworks to compare, two or more of: {string.Join(", ", Experiment.Frameworks.FrameworkCatalog.Names)}.", DefaultValueFactory = _ => string.Join(",", Experiment.Frameworks.FrameworkCatalog.DefaultComparison) };
        var shard = new Option<string?>("--shard") { Description = "K/N: train only this process's share of the runs into --out (shared with the other shards); 'twintrain report' then merges them." };
        var report = new ReportOptions();
        var training = new TrainingOptions();
        var command = new Command("compare", "Train a network (--arch; default the study's CNN) with both frameworks under identical conditions and compare them.")
        {
            seeds, output, force, ablate, shard, frameworks,
        };
        report.AddTo(command);
        training.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var architecture = training.ResolveArchitecture(parse);
            var trainingConfig = training.Config(parse, architecture);
            if (parse.GetValue(ablate) && training.AlignGiven(parse))
                throw new ArgumentException("--ablate runs each alignment itself: leave out --align and --init.");
            var part = parse.GetValue(shard) is { } text ? Shard.Parse(text) : null;
            var config = report.Apply(parse, new CompareConfig(trainingConfig, ParseSeeds(parse.GetValue(seeds)!),
                Experiment.Frameworks.FrameworkCatalog.ParseList(parse.GetValue(frameworks)!), parse.GetValue(force))
            {
                Ablate = parse.GetValue(ablate),
            });
            var console = parse.InvocationConfiguration.Output;
            var (data, summary) = training.LoadData(parse, config.Training, console);
            (architecture, var fittedTraining) = TrainingOptions.FitTo(architecture, config.Training, data.Info);
            config = config with { Training = fittedTraining };

            string folder = parse.GetValue(output)!;
            var board = training.TensorBoard(parse, "");
            var result = new ComparisonRunner(console, !Console.IsOutputRedirected) { TensorBoard = board, Shard = part }
                .Run(config, architecture, data, summary, folder, cancel);
            bool incomplete = result.Runs.Any(r => r.Error is not null || r.Summary?.Status == RunSummary.Diverged)
                || (part is null && !result.Interrupted && result.Summaries.Count < 2);
            if (part is not null)
            {
                console.WriteLine($"Shard {part} done: {result.Runs.Count(r => r.Summary?.Status == RunSummary.Completed)} completed run(s) in {Path.GetFullPath(folder)}. " +
                    $"When every shard is done, 'twintrain report {folder}' writes the merged results and report.");
            }
            else
            {
                WriteOutputs(result, folder, console);
            }
            return Task.FromResult(result.Interrupted ? CommandRunner.Interrupted : incomplete ? CommandRunner.Failure : 0);
        });
        return command;
    }

    /// <summary>The charts and the report of a comparison (results.json is already written), and the summary table on the terminal.</summary>
    public static void WriteOutputs(ComparisonResult result, string folder, TextWriter console)
    {
        var charts = Charts.Write(result, Path.Combine(folder, "charts"));
        Report.Write(result, folder, charts, Listings.Load(result.Config.Frameworks));
        console.WriteLine();
        console.Write(SummaryTable.Format(result));
        console.WriteLine($"Wrote {Path.GetFullPath(folder)}: {ComparisonRunner.ResultsFile}, {Report.Markdown}, {Report.Html}, charts/ ({charts.Count} charts as PNG and SVG)");
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

/// <summary>The options that shape the conclusions, not the training: `compare` and `report` share them.</summary>
public sealed class ReportOptions
{
    readonly Option<double?> _margin = new("--margin") { Description = "Equivalence margin in accuracy points (default 1.0): the frameworks count as equivalent when the 90% interval of the difference lies within ±margin." };
    readonly Option<string?> _targets = new("--targets") { Description = "Test accuracies in % whose time to reach is reported (default 50,60)." };

    public void AddTo(Command command)
    {
        command.Add(_margin);
        command.Add(_targets);
    }

    /// <summary>The config with --margin and --targets applied where given; one-line errors for values out of range.</summary>
    public CompareConfig Apply(ParseResult parse, CompareConfig config)
    {
        if (parse.GetValue(_margin) is double margin)
        {
            if (!(margin > 0) || double.IsInfinity(margin)) throw new ArgumentException($"--margin must be a positive number of accuracy points (got {margin.ToString(CultureInfo.InvariantCulture)}).");
            config = config with { MarginPoints = margin };
        }
        if (parse.GetValue(_targets) is { } text)
        {
            var targets = new List<double>();
            foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double target) || !(target > 0 && target < 100))
                    throw new ArgumentException($"--targets: '{part}' is not an accuracy in % between 0 and 100 (e.g. 50,60).");
                targets.Add(target / 100);
            }
            if (targets.Count == 0) throw new ArgumentException("--targets needs at least one accuracy (e.g. 50,60).");
            config = config with { Targets = [.. targets.Distinct().Order()] };
        }
        return config;
    }
}
