using System.CommandLine;
using TwinTrain.Experiment.Comparison;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain status DIR`: which runs of a comparison are done, running (where) and waiting, and the time left; read-only.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var folder = new Argument<string>("folder") { Description = "A comparison's output folder, while its shards run or after." };
        var command = new Command("status", "Show a comparison's progress while its shards run: runs done, running (host and PID), waiting, and the time left. Takes no lock.") { folder };
        command.SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.Write(ComparisonStatus.Read(parse.GetValue(folder)!).Format());
            return 0;
        });
        return command;
    }
}
