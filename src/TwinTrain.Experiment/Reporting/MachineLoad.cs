using System.Globalization;

namespace TwinTrain.Experiment.Reporting;

/// <summary>
/// How busy the machine was while something ran: the CPU time other processes took (the whole machine's busy time
/// from /proc/stat minus this process's from /proc/self/stat), CPU time stolen by the hypervisor, and the highest
/// 1-minute load average seen. Timings are only as good as the machine was quiet: libtorch's thread pool slows down
/// up to tenfold when another process takes one of its cores.
/// </summary>
public sealed record MachineLoad(double WallSeconds, double OwnCpuSeconds, double OtherCpuSeconds, double StealSeconds, double LoadAverageMax, int Threads, int Cores = 0)
{
    /// <summary>Other processes' CPU time as cores taken on average over the run.</summary>
    public double OtherCores => WallSeconds > 0 ? OtherCpuSeconds / WallSeconds : 0;

    /// <summary>Stolen CPU time as cores on average.</summary>
    public double StealCores => WallSeconds > 0 ? StealSeconds / WallSeconds : 0;

    /// <summary>
    /// A fifth of a core taken on average by others (or by the hypervisor) is enough to change a 2-thread run's speed
    /// measurably; the noise of a quiet machine (the shell, the kernel's own threads) stays well below it.
    /// </summary>
    public const double DisturbedCores = 0.2;

    /// <summary>
    /// Others took cores this run's threads needed: more than the cores it left free (a 1-thread shard beside another
    /// on 2 cores is not disturbed by it), by a fifth of a core or more; or the hypervisor stole that much.
    /// </summary>
    public bool Disturbed => OtherCores >= Math.Max(0, (Cores > 0 ? Cores : Threads) - Threads) + DisturbedCores || StealCores >= DisturbedCores;

    /// <summary>One line in plain words, e.g. for the summary table and bench.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"other processes used {OtherCores:F2} cores on average, steal {StealCores:F2} cores, load average up to {LoadAverageMax:F2}, {Threads} thread(s) on {(Cores > 0 ? Cores : Environment.ProcessorCount)} cores");

    /// <summary>Two measurements of one run made in separate invocations (a resumed run): times add up, the peak load is the higher.</summary>
    public MachineLoad Plus(MachineLoad? earlier) => earlier is null ? this : new(
        WallSeconds + earlier.WallSeconds, OwnCpuSeconds + earlier.OwnCpuSeconds, OtherCpuSeconds + earlier.OtherCpuSeconds,
        StealSeconds + earlier.StealSeconds, Math.Max(LoadAverageMax, earlier.LoadAverageMax), Threads, Cores);
}

/// <summary>Measures <see cref="MachineLoad"/> from its creation; <see cref="Sample"/> now and then catches the peak load average.</summary>
public sealed class MachineLoadMeter
{
    const double TicksPerSecond = 100; // USER_HZ, which Linux fixes at 100 for /proc
    readonly (double Busy, double Steal)? _machineStart;
    readonly double? _ownStart;
    readonly System.Diagnostics.Stopwatch _wall = System.Diagnostics.Stopwatch.StartNew();
    readonly int _threads;
    double _loadMax;

    public MachineLoadMeter(int threads)
    {
        _threads = threads;
        _machineStart = ReadMachine();
        _ownStart = ReadOwn();
        Sample();
    }

    public void Sample()
    {
        if (ReadLoadAverage() is double load) _loadMax = Math.Max(_loadMax, load);
    }

    /// <summary>The load so far; null where /proc is not there to tell (not Linux).</summary>
    public MachineLoad? Measure()
    {
        Sample();
        if (_machineStart is not { } start || _ownStart is not double ownStart || ReadMachine() is not { } end || ReadOwn() is not double ownEnd) return null;
        double own = ownEnd - ownStart;
        return new MachineLoad(_wall.Elapsed.TotalSeconds, own, Math.Max(0, end.Busy - start.Busy - own), Math.Max(0, end.Steal - start.Steal), _loadMax, _threads, Environment.ProcessorCount);
    }

    /// <summary>Busy and stolen CPU seconds of the whole machine since boot: the first line of /proc/stat.</summary>
    static (double Busy, double Steal)? ReadMachine()
    {
        string? line = ReadFirstLine("/proc/stat");
        if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal)) return null;
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(Number).ToArray();
        if (fields.Length < 8 || fields.Any(double.IsNaN)) return null;
        // user nice system idle iowait irq softirq steal [guest guest_nice, already counted in user and nice]
        double busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6];
        return (busy / TicksPerSecond, fields[7] / TicksPerSecond);
    }

    /// <summary>
    /// This process's user and system CPU seconds, fields 14 and 15 of /proc/self/stat (after the command's closing
    /// parenthesis), and those of the framework workers running now (a worker's run is the run's, not "other
    /// processes'", also once they have ended). Other children are not the run's.
    /// </summary>
    static double? ReadOwn()
    {
        return CpuSeconds("/proc/self/stat") is double own ? own + FrameworkProcesses.CpuSeconds() : null;
    }

    /// <summary>User and system CPU seconds of a process from its stat file (/proc/self/stat, /proc/PID/stat).</summary>
    public static double? CpuSeconds(string statFile)
    {
        string? line = ReadFirstLine(statFile);
        if (line is null) return null;
        var fields = line[(line.LastIndexOf(')') + 2)..].Split(' ');
        if (fields.Length < 15) return null;
        double ticks = Number(fields[11]) + Number(fields[12]);
        return double.IsNaN(ticks) ? null : ticks / TicksPerSecond;
    }

    static double Number(string text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : double.NaN;

    static double? ReadLoadAverage() =>
        ReadFirstLine("/proc/loadavg")?.Split(' ') is [var first, ..] && double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out double load) ? load : null;

    static string? ReadFirstLine(string path)
    {
        try
        {
            if (!File.Exists(path)) return null;
            using var reader = new StreamReader(path);
            return reader.ReadLine();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
