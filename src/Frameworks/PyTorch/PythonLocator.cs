using System.Diagnostics;

namespace TwinTrain.Frameworks.PyTorch;

/// <summary>
/// Finds the Python that runs the PyTorch worker: --python PATH, else $TWINTRAIN_PYTHON, else the first python3 (on
/// PATH, then /usr/bin/python3) that can import torch and numpy. On these machines the python3 first on PATH is not
/// Debian's and has no torch; /usr/bin/python3 has it once python3-torch is installed.
/// </summary>
public static class PythonLocator
{
    public const string Variable = "TWINTRAIN_PYTHON";
    public const string InstallHint = "install PyTorch (Debian: apt-get install python3-torch python3-numpy) or name a Python that has it with --python PATH or TWINTRAIN_PYTHON";

    static readonly Lock Gate = new();
    static readonly Dictionary<string, string?> Checked = [];

    /// <summary>The --python given on the command line; null when none.</summary>
    public static string? Override { get; set; }

    /// <summary>The Python to run the worker with; one line naming what is missing when there is none.</summary>
    public static string Find()
    {
        if ((Override ?? Environment.GetEnvironmentVariable(Variable)) is { Length: > 0 } named)
        {
            string source = Override is not null ? "--python" : Variable;
            return Problem(named) is { } problem ? throw new WorkerException($"pytorch: {source} {named}: {problem}; {InstallHint}.") : named;
        }
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "python3")).Append("/usr/bin/python3")
            .Where(File.Exists).Distinct().ToList();
        foreach (string candidate in candidates)
            if (Problem(candidate) is null) return candidate;
        throw new WorkerException($"pytorch: no Python with torch and numpy found (tried {(candidates.Count == 0 ? "no python3 at all" : string.Join(", ", candidates))}); {InstallHint}.");
    }

    /// <summary>Why <paramref name="python"/> cannot run the worker (null when it can); asked once per process.</summary>
    static string? Problem(string python)
    {
        lock (Gate)
        {
            if (Checked.TryGetValue(python, out var known)) return known;
            return Checked[python] = Ask(python);
        }
    }

    static string? Ask(string python)
    {
        try
        {
            var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string argument in new[] { "-c", "import torch, numpy" }) start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill();
                return "did not answer within 2 minutes";
            }
            if (process.ExitCode == 0) return null;
            string last = error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? $"exit code {process.ExitCode}";
            return $"cannot import torch and numpy ({last})";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"cannot be run ({e.Message})";
        }
    }
}
