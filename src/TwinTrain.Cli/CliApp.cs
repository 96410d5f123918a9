using System.CommandLine;
using TwinTrain.Cli.Commands;

namespace TwinTrain.Cli;

/// <summary>The command tree of `twintrain`.</summary>
public static class CliApp
{
    public static RootCommand CreateRoot()
    {
        InstalledFrameworks.Register(); // before the options list the framework names
        return Commands();
    }

    static RootCommand Commands() => new("TwinTrain: train the same network on the same data (CIFAR-10, CIFAR-100, Fashion-MNIST, MNIST or an image folder) in several frameworks and compare them.")
    {
        CommandRunner.Verbose,
        CompareCommand.Create(),
        ReportCommand.Create(),
        StatusCommand.Create(),
        TrainCommand.Create(),
        DownloadCommand.Create(),
        BenchCommand.Create(),
        EvaluateCommand.Create(),
        PredictCommand.Create(),
        ExportCommand.Create(),
        ConvertCommand.Create(),
        DiffCommand.Create(),
    };
}
