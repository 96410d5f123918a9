using System.Diagnostics;
using System.Runtime.InteropServices;

namespace TwinTrain.Experiment.Reporting;

/// <summary>The machine a run happened on, for run.json and reports.</summary>
public sealed record MachineInfo(string CpuModel, int LogicalCores, string OperatingSystem, [property: System.Text.Json.Serialization.JsonPropertyName("dotnet")] string DotNet, string Architecture)
{
    public static MachineInfo Current { get; } = new(
        ReadCpuModel(), Environment.ProcessorCount, RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription, RuntimeInformation.ProcessArchitecture.ToString());

    static string ReadCpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (IOException) { }
        return Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? "unknown";
    }

    /// <summary>
    /// Restarts the peak-memory count from the current resident size (Linux: writing 5 to /proc/self/clear_refs),
    /// so the next <see cref="PeakMemoryBytes"/> covers one run. Returns false where that is not possible.
    /// </summary>
    public static bool ResetPeakMemory()
    {
        try
        {
            if (!File.Exists("/proc/self/clear_refs")) return false;
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The process's resident memory now, in bytes (VmRSS on Linux).</summary>
    public static long ResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }

    /// <summary>
    /// Starts measuring one run's memory: the peak count restarts (where possible) and the resident size now is the
    /// baseline, so that the run's own need is its peak minus what was already resident (the data set, the runtime,
    /// and whatever another framework's run left in this process). Null where the peak cannot be restarted.
    /// </summary>
    public static long? StartRunMemory() => ResetPeakMemory() ? ResidentBytes() : null;

    /// <summary>The process's peak resident memory so far, in bytes (VmHWM on Linux).</summary>
    public static long PeakMemoryBytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.PeakWorkingSet64;
    }
}
