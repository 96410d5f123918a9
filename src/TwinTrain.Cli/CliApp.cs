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

    static RootCommand Commands() => new("TwinTrain: train the same CNN on CIFAR-10 in several frameworks and compare them.")
    {
        CommandRunner.Verbose,
        CompareCommand.Create(),
        ReportCommand.Create(),
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
