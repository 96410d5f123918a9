using System.Diagnostics;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Tests;

/// <summary>The machine-load measurement sees another process's CPU time (fault injection: a busy loop beside the measurement).</summary>
public class MachineLoadTests
{
    [Fact]
    public void Should_flag_a_run_during_which_another_process_took_a_core()
    {
        var meter = new MachineLoadMeter(threads: Environment.ProcessorCount); // a run that needs every core
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

    [Fact]
    public void Should_not_count_others_on_the_cores_a_run_leaves_free()
    {
        // Two 1-thread shards on 2 cores: each sees the other take a core, which it did not need.
        Assert.False(new MachineLoad(100, 99, 100, 0, 2, Threads: 1, Cores: 2).Disturbed);
        Assert.True(new MachineLoad(100, 99, 125, 0, 3, Threads: 1, Cores: 2).Disturbed);
        Assert.True(new MachineLoad(100, 190, 25, 0, 3, Threads: 2, Cores: 2).Disturbed);
        Assert.False(new MachineLoad(100, 190, 10, 0, 2, Threads: 2, Cores: 2).Disturbed);
    }
}
