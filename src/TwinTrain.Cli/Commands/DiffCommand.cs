using System.CommandLine;
using TwinTrain.Data;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Diff;
using TwinTrain.Experiment.Frameworks;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain diff`: the first layer where two frameworks part, forward and backward, against a float64 reference.</summary>
public static class DiffCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = $"The network: a preset ({string.Join(", ", Architecture.Presets)}) or a Keras model config file (.json or .keras).", DefaultValueFactory = _ => Architecture.Default };
        var frameworks = new Option<string>("--frameworks") { Description = $"Comma-separated frameworks to look inside, one or more of: {string.Join(", ", LayerDiff.LayerByLayerFrameworks)}.", DefaultValueFactory = _ => string.Join(",", FrameworkCatalog.DefaultComparison) };
        var align = new Option<string>("--align") { Description = "Differences to remove first, as compare's --align (bn: the config's BatchNormalization constants in every framework); init and epsilon change nothing here (the same weights, plain SGD).", DefaultValueFactory = _ => Alignments.None };
        var steps = new Option<int>("--steps") { Description = "Batches to follow: the first is examined layer by layer, the rest show the drift over SGD steps.", DefaultValueFactory = _ => 1 };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per batch.", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "SGD learning rate for --steps above 1.", DefaultValueFactory = _ => 0.01 };
        var seed = new Option<int>("--seed") { Description = "Seed of the shared initial weights (Keras's initialisers).", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "CPU threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var data = new Option<string?>("--data") { Description = "CIFAR-10 as an archive or folder (default: where 'twintrain download' puts it)." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = $"Decoded-data cache folder (default: {DatasetLoader.DefaultCacheFolder()})." };
        var noCache = new Option<bool>("--no-cache") { Description = "Decode the data again and do not write a cache." };
        var output = new Option<string>("--out", "-o") { Description = "Folder for diff.json, diff.md and the charts.", DefaultValueFactory = _ => "diff" };
        var command = new Command("diff", "Where the frameworks part: from the same weights on the same real batch, each layer's output, input gradient and weight gradients against a float64 reference, chained and in isolation.")
        {
            arch, frameworks, align, steps, batchSize, lr, seed, threads, data, cacheDir, noCache, output,
        };
        command.SetAction((parse, cancel) =>
        {
            var console = parse.InvocationConfiguration.Output;
            string source = DataLocation.Resolve(parse.GetValue(data));
            var unfitted = Architecture.Resolve(parse.GetValue(arch)!);
            var names = ParseFrameworks(parse.GetValue(frameworks)!);
            int stepCount = parse.GetValue(steps);
            if (stepCount < 1) throw new ArgumentException($"--steps must be at least 1 (got {stepCount}).");
            var config = new TrainingConfig
            {
                Arch = unfitted.Name, ArchDigest = unfitted.Digest, Epochs = 1, BatchSize = parse.GetValue(batchSize), LearningRate = parse.GetValue(lr),
                Seed = parse.GetValue(seed), Threads = parse.GetValue(threads), Optimizer = TrainingOptimizer.Sgd, Init = Initialisation.Shared,
            };
            config.Validate();
            TrainingOptions.WarnIfOversubscribed(config.Threads, parse.InvocationConfiguration.Error);
            var factors = Alignments.Parse(parse.GetValue(align)!);
            bool all = parse.GetValue(align)!.Split(',', StringSplitOptions.TrimEntries).Contains(Alignments.All);
            if (!all && factors.Any(f => f.Name == "bn") && !Architecture.HasBatchNormalization(config.Arch))
                throw new ArgumentException($"--align bn applies to networks with BatchNormalization only ({config.Arch} has none).");
            config = Alignments.With(config, factors) with { Init = Initialisation.Shared };

            console.WriteLine($"Loading {DatasetLoader.Recognise(source, null)?.Name ?? "the data"} from {source}");
            var (full, report) = DatasetLoader.Load(source, parse.GetValue(cacheDir), !parse.GetValue(noCache));
            console.WriteLine($"  {full.Train.Count:N0} training images of {full.Info.Title} ({(report.FromCache ? "from cache" : report.Form)}, {report.Seconds:F2}s)");
            var architecture = unfitted.ForData(full.Info);
            config = config with { ArchDigest = architecture.Digest };
            var result = LayerDiff.Run(architecture, config, names, full.Train, stepCount, console);
            console.WriteLine();
            console.Write(DiffReport.Format(result));
            string folder = parse.GetValue(output)!;
            var files = DiffReport.Write(result, folder);
            console.WriteLine($"Wrote {Path.GetFullPath(folder)}: {string.Join(", ", files)}");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Known names, no repeats, at least one, each a framework diff can look inside; one-line errors.</summary>
    static IReadOnlyList<string> ParseFrameworks(string text)
    {
        var names = FrameworkCatalog.ParseList(text, minimum: 1);
        foreach (string name in names)
            if (!LayerDiff.LayerByLayerFrameworks.Contains(name))
                throw new ArgumentException($"--frameworks: {name} has no layer-by-layer mode, so diff cannot look inside it (diff looks inside {string.Join(", ", LayerDiff.LayerByLayerFrameworks)}).");
        return names;
    }
}
