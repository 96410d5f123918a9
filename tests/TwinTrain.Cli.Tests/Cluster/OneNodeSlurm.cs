using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Cli.Tests.Cluster;

/// <summary>
/// A real Slurm 22.05 on this machine for one test: a munge key, munged, slurmctld and slurmd, all in a temporary
/// folder with their own socket, ports, state and logs (../shared/notes/references.md: a one-node Slurm for CI),
/// so nothing of the machine's own Slurm or munge is touched. The daemons are stopped when the test ends, also on
/// failure. Where they cannot start (not root, no resolvable host name, no Slurm installed) the test is skipped with
/// that reason, never silently.
/// </summary>
public sealed class OneNodeSlurm : IDisposable
{
    readonly TempFolder _folder = new();
    readonly List<string> _pidFiles = [];

    public string Folder => _folder.Path;
    public string Config => Path.Combine(Folder, "slurm.conf");
    public string Host { get; } = Dns.GetHostName();

    /// <summary>Starts the daemons, or skips the test naming why they cannot run here.</summary>
    public static OneNodeSlurm Start()
    {
        foreach (string tool in new[] { "munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel" })
            Skip.If(Which(tool) is null, $"no {tool} on this machine (apt-get install slurm-wlm munge); .ci/run installs them");
        Skip.If(Environment.UserName != "root", $"a one-node Slurm runs its daemons as root here; this test runs as {Environment.UserName}");
        var slurm = new OneNodeSlurm();
        try
        {
            slurm.Boot();
            return slurm;
        }
        catch
        {
            slurm.Dispose();
            throw;
        }
    }

    void Boot()
    {
        try
        {
            Dns.GetHostAddresses(Host);
        }
        catch (SocketException e)
        {
            throw new SkipException($"the host name '{Host}' does not resolve ({e.Message}); slurmd needs it");
        }
        string munge = Path.Combine(Folder, "munge");
        foreach (string dir in new[] { munge, Path.Combine(Folder, "state"), Path.Combine(Folder, "spool") }) Directory.CreateDirectory(dir);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(munge, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string key = Path.Combine(munge, "munge.key"), socket = Path.Combine(munge, "munge.socket");
        Must("mungekey", "--create", "--keyfile", key, "--force");
        Must("munged", "--force", $"--socket={socket}", $"--key-file={key}", $"--log-file={munge}/munged.log",
            $"--pid-file={munge}/munged.pid", $"--seed-file={munge}/munged.seed");
        _pidFiles.Add($"{munge}/munged.pid");

        File.WriteAllText(Config, $"""
            ClusterName=twintrain-test
            SlurmctldHost={Host}
            SlurmUser=root
            SlurmdUser=root
            SlurmctldPort={FreePort()}
            SlurmdPort={FreePort()}
            AuthType=auth/munge
            AuthInfo=socket={socket}
            CredType=cred/munge
            StateSaveLocation={Folder}/state
            SlurmdSpoolDir={Folder}/spool
            SlurmctldPidFile={Folder}/slurmctld.pid
            SlurmdPidFile={Folder}/slurmd.pid
            SlurmctldLogFile={Folder}/slurmctld.log
            SlurmdLogFile={Folder}/slurmd.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            ReturnToService=2
            MpiDefault=none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            KillWait=60
            NodeName={Host} NodeAddr=127.0.0.1 CPUs={Environment.ProcessorCount} State=UNKNOWN
            PartitionName=debug Nodes={Host} Default=YES MaxTime=INFINITE State=UP

            """);
        Must("slurmctld", "-i");
        _pidFiles.Add($"{Folder}/slurmctld.pid");
        Must("slurmd");
        _pidFiles.Add($"{Folder}/slurmd.pid");
        for (int i = 0; i < 60; i++)
        {
            if (Run("sinfo", "-h", "-o", "%T").Output.Trim() == "idle") return;
            Thread.Sleep(500);
        }
        throw new InvalidOperationException($"the one-node Slurm did not come up: sinfo says '{Run("sinfo").Output.Trim()}'; slurmctld.log: {Tail("slurmctld.log")}; slurmd.log: {Tail("slurmd.log")}");
    }

    /// <summary>The last lines of one of the daemons' logs.</summary>
    public string Tail(string log)
    {
        string path = Path.Combine(Folder, log);
        return File.Exists(path) ? string.Join(" | ", File.ReadLines(path).TakeLast(8)) : "(none)";
    }

    /// <summary>Runs a Slurm command against this cluster (SLURM_CONF set), with extra environment for sbatch to pass on.</summary>
    public (int Code, string Output, string Error) Run(string command, params string[] args) => Run(command, null, null, args);

    public (int Code, string Output, string Error) Run(string command, string? workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["SLURM_CONF"] = Config;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        string error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10))) process.Kill(entireProcessTree: true);
        return (process.ExitCode, output.Result, error);
    }

    /// <summary>
    /// Each task's state as slurmctld records it (`scontrol show job -o`: one line per array task, `JobState=...`),
    /// by task id ("1_2"). Positive evidence, unlike an empty squeue, which also reads so when squeue fails or a
    /// requeued task is not yet listed again.
    /// </summary>
    public Dictionary<string, string> States(string job)
    {
        var (code, output, _) = Run("scontrol", "show", "job", "-o", job);
        var states = new Dictionary<string, string>();
        if (code != 0) return states;
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string Field(string name) => System.Text.RegularExpressions.Regex.Match(line, $@"(?:^| ){name}=(\S+)").Groups[1].Value;
            string task = Field("ArrayTaskId");
            states[task.Length > 0 ? $"{Field("ArrayJobId")}_{task}" : Field("JobId")] = Field("JobState");
        }
        return states;
    }

    /// <summary>States in which Slurm will not run a job again unless it is requeued.</summary>
    public static bool IsFinal(string state) => state is "COMPLETED" or "CANCELLED" or "FAILED" or "TIMEOUT" or "NODE_FAIL"
        or "PREEMPTED" or "BOOT_FAIL" or "DEADLINE" or "OUT_OF_MEMORY";

    void Must(string command, params string[] args)
    {
        var (code, output, error) = Run(command, args);
        if (code != 0) throw new InvalidOperationException($"{command} {string.Join(' ', args)} failed ({code}): {error}{output}");
    }

    static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin"])
            .Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);

    public void Dispose()
    {
        // Jobs first (their processes too), then the daemons, newest first, each by the PID it wrote.
        try
        {
            Run("scancel", "--full", "--user", "root");
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
        foreach (string pidFile in Enumerable.Reverse(_pidFiles))
        {
            try
            {
                if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid)) continue;
                using var daemon = Process.GetProcessById(pid);
                daemon.Kill();
                daemon.WaitForExit(10_000);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
            {
                // Already gone.
            }
        }
        _folder.Dispose();
    }
}
