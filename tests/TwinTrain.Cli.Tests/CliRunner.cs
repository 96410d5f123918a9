namespace TwinTrain.Cli.Tests;

/// <summary>Runs `twintrain` in-process with captured output, as the tests' user would on a terminal.</summary>
public static class CliRunner
{
    public static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await CommandRunner.RunAsync(CliApp.CreateRoot(), args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A run folder's model file: the one its run.json's last checkpoint records.</summary>
    public static string ModelIn(string runFolder)
    {
        var run = TwinTrain.Experiment.Reporting.RunFiles.ReadRun(runFolder) ?? throw new InvalidOperationException($"{runFolder} has no run.json");
        return Path.Combine(runFolder, run.WeightsFile ?? throw new InvalidOperationException($"{runFolder} has no model"));
    }
}
