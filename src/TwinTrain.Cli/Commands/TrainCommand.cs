using System.CommandLine;
using System.Globalization;
using TwinTrain.Data;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Checkpoints;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain train`: train the architecture with one framework and write history.csv, run.json, model.json and weights.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var framework = new Option<string?>("--framework", "-f") { Description = $"Which framework trains: {string.Join(", ", FrameworkCatalog.Names)}." };
        framework.AcceptOnlyFromAmong([.. FrameworkCatalog.Names]);
        var seed = new Option<int>("--seed") { Description = "Seed for initial weights and the sample order.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out", "-o") { Description = "Output folder (default: runs/<framework>-<time>)." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder after its last completed epoch (--epochs N to train further)." };
        var training = new TrainingOptions();
        var command = new Command("train", "Train a network (--arch; default the study's CNN) on CIFAR-10 with one framework.") { framework, seed, output, resume };
        training.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var console = parse.InvocationConfiguration.Output;
            training.ApplyPython(parse);
            if (parse.GetValue(resume) is { } folder) return Task.FromResult(Resume(folder, training, parse, console, cancel));
            string name = parse.GetValue(framework) ?? throw new ArgumentException($"--framework is required ({string.Join(", ", FrameworkCatalog.Names)}), unless --resume continues a run.");
            var architecture = training.ResolveArchitecture(parse);
            var config = training.Config(parse, architecture, parse.GetValue(seed));
            string outFolder = parse.GetValue(output)
                ?? Path.Combine("runs", $"{name}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
            void RefuseAFolderWithARun()
            {
                if (File.Exists(Path.Combine(outFolder, RunFiles.Run)))
                    throw new ArgumentException($"{outFolder}: holds a run already; 'twintrain train --resume {outFolder}' continues it, or choose another --out.");
            }
            RefuseAFolderWithARun(); // before the data is read, to fail at once
            // The data first: an image folder's shape and classes, which the architecture must fit, are known only once
            // it is read, and a network that does not fit must leave no run folder behind.
            var (data, dataSummary) = training.LoadData(parse, config, console);
            (architecture, config) = TrainingOptions.FitTo(architecture, config, data.Info);
            using var held = FolderLock.Take(outFolder, "train");
            RefuseAFolderWithARun(); // again under the lock: another process may have started a run meanwhile
            return Task.FromResult(Run(name, config, architecture, data, dataSummary, outFolder, console, cancel,
                training.TensorBoard(parse, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(outFolder))))));
        });
        return command;
    }

    /// <summary>Continues a run from its folder: its configuration, history and checkpoint (model and optimizer state).</summary>
    static int Resume(string folder, TrainingOptions training, ParseResult parse, TextWriter console, CancellationToken cancel)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such folder; nothing to resume.");
        using var held = FolderLock.Take(folder, "train --resume");
        var previous = RunFiles.ReadRun(folder)
            ?? throw new FileNotFoundException($"{folder}: not a run folder (no {RunFiles.Run}); nothing to resume.", Path.Combine(folder, RunFiles.Run));
        var config = previous.Config with { Epochs = training.ExplicitEpochs(parse) ?? previous.Config.Epochs };
        config.Validate();
        // A run killed after its last epoch's checkpoint but before it was marked completed only needs finishing.
        if (previous.History.Count >= config.Epochs && previous.Status is RunSummary.Completed or RunSummary.Diverged)
            throw new ArgumentException($"{folder}: the run already has {previous.History.Count} epoch(s); pass --epochs N (more than that) to train further.");
        var (data, dataSummary) = training.LoadData(parse, config, console, previous.Data);
        if (data.Train.Count != previous.Data.TrainImages || data.Test.Count != previous.Data.TestImages)
            throw new ArgumentException($"{folder}: the run used {previous.Data.TrainImages:N0}/{previous.Data.TestImages:N0} images, this data gives {data.Train.Count:N0}/{data.Test.Count:N0}.");

        var architecture = Architecture.OfRunFolder(folder, config.Arch);
        long? residentAtStart = MachineInfo.StartRunMemory();
        using var model = FrameworkCatalog.Create(previous.Framework, config, data.Train, architecture);
        if (TrainingRun.CheckpointToResume(folder, previous) is { } checkpoint) model.LoadCheckpoint(checkpoint);
        console.WriteLine($"Resuming {previous.Framework} ({config.Arch}) in {folder} after epoch {previous.History.Count} of {config.Epochs}");
        var summary = new TrainingRun(console, liveProgress: !Console.IsOutputRedirected)
        {
            TensorBoard = training.TensorBoard(parse, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)))),
            ResidentAtStart = residentAtStart,
        }.Execute(model, config, architecture, data, dataSummary, folder, cancel, previous.History.Count > 0 ? previous : null);
        return Report(summary, folder, console);
    }

    static int Run(string name, TrainingConfig config, Architecture architecture, Dataset data, DataSummary dataSummary, string outFolder,
        TextWriter console, CancellationToken cancel, (string, int)? tensorBoard)
    {
        long? residentAtStart = MachineInfo.StartRunMemory();
        using var model = FrameworkCatalog.Create(name, config, data.Train, architecture);
        console.WriteLine($"Framework {name} ({string.Join(", ", model.Versions.Select(v => $"{v.Key} {v.Value}"))}), " +
            $"{config.Arch}: {architecture.Parameters:N0} parameters ({architecture.TrainableParameters:N0} trainable), {config.Threads} threads, batch {config.BatchSize}, " +
            $"{(config.Optimizer == TrainingOptimizer.Sgd ? $"SGD momentum {config.Momentum}" : "Adam")} lr {config.LearningRate}, init {Choice.Name(config.Init)}, aligned: {config.Condition}");

        var summary = new TrainingRun(console, liveProgress: !Console.IsOutputRedirected) { TensorBoard = tensorBoard, ResidentAtStart = residentAtStart }
            .Execute(model, config, architecture, data, dataSummary, outFolder, cancel);
        return Report(summary, outFolder, console);
    }

    static int Report(RunSummary summary, string outFolder, TextWriter console)
    {
        console.WriteLine();
        if (summary.TestAccuracy is double accuracy)
            console.WriteLine($"Test accuracy {accuracy * 100:F2}%, test loss {summary.TestLoss:F4} after {summary.History.Count} epoch(s).");
        console.WriteLine($"Training {summary.TrainingSeconds:F1}s ({summary.TrainImagesPerSecond:F0} images/s), " +
            $"wall {summary.WallSeconds:F1}s, memory {summary.MemoryText()}.");
        console.WriteLine($"Wrote {Path.GetFullPath(outFolder)} (history.csv, run.json, {Architecture.FileName}{(summary.WeightsFile is null ? "" : $", {summary.WeightsFile}")}).");
        return summary.Status switch
        {
            RunSummary.Completed => 0,
            RunSummary.Diverged => CommandRunner.Failure,
            _ => CommandRunner.Interrupted,
        };
    }
}
