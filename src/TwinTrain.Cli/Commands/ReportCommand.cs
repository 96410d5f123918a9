using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using TwinTrain.Data;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Experiment.Comparison;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain report DIR`: results.json, the charts and the report rebuilt from whatever run folders DIR holds (e.g. merged shards).</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var folder = new Argument<string>("folder") { Description = "A comparison's output folder (its runs/ may come from several machines)." };
        var data = new Option<string?>("--data") { Description = "The runs' data set, for the same-mathematics check (default: where the runs read it, or where 'twintrain download' puts it)." };
        var report = new ReportOptions();
        var command = new Command("report", "Rebuild a comparison's results, charts and report from the run folders in it (after shards, or copying runs together).") { folder, data };
        report.AddTo(command);
        command.SetAction(parse =>
        {
            string dir = parse.GetValue(folder)!;
            var console = parse.InvocationConfiguration.Output;
            if (!Directory.Exists(dir)) throw new ArgumentException($"{dir}: no such folder.");
            // Shared, as a shard's: report may run while shards still train (it writes only results, charts and report).
            using var held = FolderLock.TakeShared(dir, "report");
            var (recorded, runs) = ComparisonFolder.Read(dir);
            var status = File.Exists(Path.Combine(dir, CompareConfig.File)) ? ComparisonStatus.Read(dir) : null;
            var config = report.Apply(parse, recorded);
            var first = runs.First(r => r.Summary is not null).Summary!;
            // The comparison's own config (a PyTorch-style run folder may hold its framework's BatchNormalization constants).
            var recordedArchitectures = runs.Where(r => r.Summary is not null).Select(r => Architecture.OfRunFolder(r.Folder, first.Config.Arch)).ToList();
            var architecture = recordedArchitectures.FirstOrDefault(a => a.Digest == first.Config.ArchDigest) ?? recordedArchitectures[0];
            var previous = PreviousResults(dir);
            var sameMaths = previous.SameMaths ?? MeasureSameMaths(parse.GetValue(data), first, architecture, config, console);
            int ended = runs.Count(r => r.Summary is { Status: RunSummary.Completed or RunSummary.Diverged } || r.Error is not null);
            string? partial = ended < config.Plan().Count
                ? $"partial: {ended} of the {config.Plan().Count} planned runs have ended" +
                  (status is null ? "" : $" ({status.Count(RunStatus.Running)} running, {status.Runs.Count(r => r.Unfinished) - status.Count(RunStatus.Running)} waiting or stopped)") +
                  $"; run 'twintrain report {dir}' again when they have"
                : null;
            var result = ComparisonResult.Of(config, MachineInfo.Current, first.Data, previous.Warmup, runs, interrupted: false,
                ModelDescription.Of(architecture), sameMaths) with { Partial = partial };
            RunFiles.WriteJson(Path.Combine(dir, ComparisonRunner.ResultsFile), result);
            console.WriteLine($"{ended} run(s) of {config.Plan().Count} planned have ended in {dir}" + (partial is null ? "" : $"; the report is {partial}"));
            CompareCommand.WriteOutputs(result, dir, console);
            return 0;
        });
        return command;
    }

    /// <summary>What a previous results.json measured that the run folders do not hold: warm-up times and the same-maths check.</summary>
    static (IReadOnlyDictionary<string, double> Warmup, IReadOnlyList<SameMathsResult>? SameMaths) PreviousResults(string dir)
    {
        string path = Path.Combine(dir, ComparisonRunner.ResultsFile);
        try
        {
            if (!File.Exists(path) || JsonNode.Parse(File.ReadAllText(path)) is not JsonObject results) return (new Dictionary<string, double>(), null);
            var warmup = results["warmup_seconds"]?.Deserialize<Dictionary<string, double>>(RunFiles.Json) ?? [];
            // A list of pairs; results.json files from before several frameworks hold one pair as an object.
            var same = results["same_maths"] switch
            {
                JsonArray pairs => pairs.Deserialize<List<SameMathsResult>>(RunFiles.Json),
                JsonObject pair => pair.Deserialize<SameMathsResult>(RunFiles.Json) is { } one ? [one] : null,
                _ => null,
            };
            return (warmup, same);
        }
        catch (System.Text.Json.JsonException)
        {
            return (new Dictionary<string, double>(), null); // a damaged results.json is rebuilt from the runs
        }
    }

    /// <summary>The same-maths check, when CIFAR-10 can be found (it takes seconds); null with a note otherwise.</summary>
    static IReadOnlyList<SameMathsResult>? MeasureSameMaths(string? data, RunSummary run, Architecture architecture, CompareConfig config, TextWriter console)
    {
        string? source = data ?? (File.Exists(run.Data.Source) || Directory.Exists(run.Data.Source) ? run.Data.Source
            : run.Data.Info() is { IsImageFolder: false } known ? DataLocation.Find(null, known) : null);
        if (source is null)
        {
            console.WriteLine($"Not measuring whether the engines compute the same thing: no data at {run.Data.Source} (where the runs read it) or in {DatasetLoader.DefaultDataFolder()}; give --data.");
            return null;
        }
        console.WriteLine($"== Do the engines compute the same thing? ({run.Data.Title ?? run.Data.Dataset} from {source})");
        var (full, _) = DatasetLoader.Load(source, null, useCache: true, dataset: run.Data.Info(), images: run.Data.Images);
        try
        {
            return SameMaths.Run(architecture, full.Train, config.Training.Threads, config.Frameworks);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            console.WriteLine($"   the same-maths check failed: {e.Message}");
            return null;
        }
    }
}
