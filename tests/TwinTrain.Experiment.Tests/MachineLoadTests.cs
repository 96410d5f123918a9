using System.Diagnostics;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Tests;

/// <summary>The machine-load measurement sees another process's CPU time (fault injection: a busy loop beside the measurement).</summary>
public class MachineLoadTests
{
    [Fact]
    public void Should_flag_a_run_during_which_another_process_took_a_core()
    {
        var meter = new MachineLoadMeter(threads: 1);
        using (var busy = Process.Start(new ProcessStartInfo("sh", ["-c", "end=$(($(date +%s) + 2)); while [ $(date +%s) -lt $end ]; do :; done"]))!)
        {
            busy.WaitForExit();
        }
        var load = meter.Measure();
        Assert.NotNull(load);
        Assert.True(load.OtherCores > 0.5, $"a busy shell loop should show as most of a core: {load.Describe()}");
        Assert.True(load.Disturbed);
        Assert.InRange(load.WallSeconds, 1, 10);
        Assert.True(load.OwnCpuSeconds < load.OtherCpuSeconds, "waiting for the child is not this process's CPU time");
    }

    [Fact]
    public void Should_add_up_a_resumed_runs_measurements()
    {
        var earlier = new MachineLoad(10, 18, 1, 0.5, 3.0, 2);
        var later = new MachineLoad(30, 55, 2, 0, 1.0, 2);
        var both = later.Plus(earlier);
        Assert.Equal(40, both.WallSeconds);
        Assert.Equal(3, both.OtherCpuSeconds);
        Assert.Equal(3.0, both.LoadAverageMax);
        Assert.Equal(3 / 40.0, both.OtherCores, 12);
        Assert.False(both.Disturbed);
    }
}
