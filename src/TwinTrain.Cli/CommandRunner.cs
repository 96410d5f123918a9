using System.CommandLine;
using System.Net.Http;
using TwinTrain.Data;

namespace TwinTrain.Cli;

/// <summary>
/// Runs a command line. Every failure becomes one line naming the command and the problem (the messages name their
/// file) and exit code 2, never a stack trace; --verbose adds the trace. Ctrl+C asks the running command to stop and
/// write its results; a second Ctrl+C ends the process at once. SIGTERM (what Slurm and Kubernetes send a preempted,
/// cancelled or timed-out task, before SIGKILL after a grace period) asks the same, and the process then exits with
/// 143, the code a scheduler's requeue rules (Slurm's RequeueExit) can name.
/// Exit codes: 0 success, 1 the command line cannot be parsed (usage), 2 bad input or failure, 130 interrupted,
/// 143 stopped by SIGTERM.
/// </summary>
public static class CommandRunner
{
    public const int Usage = 1;
    public const int Failure = 2;
    public const int Interrupted = 130;
    public const int Terminated = 143;

    /// <summary>Shows the stack trace of a failure as well as its one line.</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "On failure, show the stack trace too.", Recursive = true };

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
        bool terminated = false;
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true; // not the default exit: stop after the current step, commit, then exit
            if (stop.IsCancellationRequested) return;
            terminated = true;
            error.WriteLine("Stopping after the current step (SIGTERM: preempted, cancelled or out of time)...");
            stop.Cancel();
        });
        try
        {
            var config = new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            };
            int code = await parse.InvokeAsync(config, stop.Token);
            return terminated && code == Interrupted ? Terminated : code;
        }
        catch (Exception e)
        {
            error.WriteLine(OneLine(parse, e));
            if (parse.GetValue(Verbose)) error.WriteLine(e);
            return e is OperationCanceledException ? (terminated ? Terminated : Interrupted) : Failure;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>
    /// The failure as one line. Expected failures carry a message written for the user (naming the file); anything
    /// else is a defect or an environment problem, named by command and exception type.
    /// </summary>
    static string OneLine(ParseResult parse, Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or TypeInitializationException && e.InnerException is not null) e = e.InnerException!;
        string message = e.Message.ReplaceLineEndings(" ").Trim();
        if (IsUserFacing(e)) return $"error: {message}";
        string command = parse.CommandResult.Command.Name;
        return e is OutOfMemoryException
            ? $"error: twintrain {command}: out of memory ({message}); the input is larger than this machine can hold."
            : $"error: twintrain {command}: unexpected {e.GetType().Name}: {message} (--verbose shows where)";
    }

    static bool IsUserFacing(Exception e) => e is DataFormatException or FileNotFoundException or DirectoryNotFoundException
        or IOException or UnauthorizedAccessException or HttpRequestException or InvalidDataException
        or NotSupportedException or ArgumentException or OperationCanceledException or Keras.Saving.ModelConfigException;
}
