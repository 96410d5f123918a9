using System.Diagnostics;

namespace TwinTrain.Cli.Tests;

/// <summary>
/// Runs `twintrain` as a separate process, for what cannot happen in-process: being killed (SIGKILL) or a disk filling
/// up at a chosen file operation (<see cref="Data.FaultInjection"/>), and two processes on one folder.
/// </summary>
public static class CliProcess
{
    public const int Killed = 128 + 9; // SIGKILL, as the shell reports it

    public static Process Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "twintrain.dll"));
        foreach (string arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return Process.Start(start) ?? throw new InvalidOperationException("cannot start twintrain");
    }

    public static async Task<(int Code, string Output, string Error)> Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Start(environment, args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
