using System.CommandLine;
using System.Net.Http;
using TwinTrain.Data;

namespace TwinTrain.Cli;

/// <summary>
/// Runs a command line: parse errors and expected failures (bad data, missing files, network errors) become one clear
/// message and exit code 2 instead of a stack trace. Ctrl+C asks the running command to stop and write its results;
/// a second Ctrl+C ends the process at once.
/// </summary>
public static class CommandRunner
{
    public const int Failure = 2;

    public static async Task<int> RunAsync(RootCommand root, string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var parse = root.Parse(args);
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (stop.IsCancellationRequested) return; // the second Ctrl+C terminates
            e.Cancel = true;
            error.WriteLine();
            error.WriteLine("Stopping after the current step (Ctrl+C again to quit at once)...");
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var config = new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            };
            return await parse.InvokeAsync(config, stop.Token);
        }
        catch (Exception e) when (IsUserFacing(e))
        {
            error.WriteLine($"error: {e.Message}");
            return Failure;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    static bool IsUserFacing(Exception e) => e is DataFormatException or FileNotFoundException or DirectoryNotFoundException
        or IOException or UnauthorizedAccessException or HttpRequestException or InvalidDataException
        or NotSupportedException or ArgumentException or OperationCanceledException or Keras.Saving.ModelConfigException;
}
