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

    /// <summary>The process's peak resident memory so far, in bytes (VmHWM on Linux).</summary>
    public static long PeakMemoryBytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.PeakWorkingSet64;
    }
}
