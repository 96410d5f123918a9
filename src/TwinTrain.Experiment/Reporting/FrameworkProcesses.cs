using System.Collections.Concurrent;

namespace TwinTrain.Experiment.Reporting;

/// <summary>
/// The child processes that do a framework's work (a worker), whose CPU time the machine-load meter counts as the
/// run's own, not as other processes': those running now (from /proc/PID/stat) and those ended (as last read before
/// they quit).
/// </summary>
public static class FrameworkProcesses
{
    static readonly ConcurrentDictionary<int, bool> Live = new();
    static double _endedCpuSeconds;

    public static void Started(int pid) => Live[pid] = true;

    /// <summary>Moves the process's CPU time from the live count to the ended one, once (what it spends quitting is not counted).</summary>
    public static void Ending(int pid)
    {
        double used = CpuSeconds(pid) ?? 0;
        if (!Live.TryRemove(pid, out _)) return;
        double before, after;
        do { before = Volatile.Read(ref _endedCpuSeconds); after = before + used; }
        while (Interlocked.CompareExchange(ref _endedCpuSeconds, after, before) != before);
    }

    /// <summary>The CPU seconds of every such process this process started, running or ended.</summary>
    public static double CpuSeconds()
    {
        double total = Volatile.Read(ref _endedCpuSeconds);
        foreach (int pid in Live.Keys) total += CpuSeconds(pid) ?? 0;
        return total;
    }

    static double? CpuSeconds(int pid) => MachineLoadMeter.CpuSeconds($"/proc/{pid}/stat");
}
