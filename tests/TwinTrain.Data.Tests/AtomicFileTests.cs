using System.Diagnostics;
using Xunit.Abstractions;
using System.Security.Cryptography;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Data.Tests;

public class AtomicFileTests(ITestOutputHelper log)
{
    /// <summary>The helper program built beside this test assembly's configuration (tests/Tools/AtomicWriter).</summary>
    static string WriterProgram
    {
        get
        {
            var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            string configuration = here.Parent!.Name, framework = here.Name;
            string path = Path.Combine(SharedData.RepositoryRoot, "tests", "Tools", "AtomicWriter", "bin", configuration, framework, "AtomicWriter.dll");
            Assert.True(File.Exists(path), $"{path} is missing (it is built with the tests)");
            return path;
        }
    }

    static Process StartWriter(string file, int writer, int times) => Process.Start(new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
    {
        ArgumentList = { WriterProgram, file, writer.ToString(), times.ToString() },
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    })!;

    /// <summary>Whether the bytes are one whole version as AtomicWriter writes it (its SHA-256 over the rest matches).</summary>
    static bool IsWhole(byte[] bytes) =>
        bytes.Length == 65536 + 32 && SHA256.HashData(bytes.AsSpan(0, 65536)).AsSpan().SequenceEqual(bytes.AsSpan(65536));

    [Fact]
    public async Task Should_let_several_processes_write_one_file_at_once_without_an_error_and_always_leave_one_whole_version()
    {
        // What the shards of a Slurm array or an Indexed Job do when they start together: all write the same
        // .lock-holder and comparison files at once. Before each writer had a name of its own, two of them could
        // share X.tmp and the second's rename found nothing.
        using var folder = new TempFolder();
        string file = folder["shared.bin"];
        const int writers = 6, times = 150;
        var processes = Enumerable.Range(0, writers).Select(w => StartWriter(file, w, times)).ToList();
        var errors = processes.Select(p => p.StandardError.ReadToEndAsync()).ToList();
        var outputs = processes.Select(p => p.StandardOutput.ReadToEndAsync()).ToList();

        int reads = 0, torn = 0;
        while (processes.Any(p => !p.HasExited))
        {
            try
            {
                if (!IsWhole(File.ReadAllBytes(file))) torn++;
                reads++;
            }
            catch (FileNotFoundException)
            {
                // before the first rename
            }
        }
        foreach (var p in processes) await p.WaitForExitAsync();

        for (int w = 0; w < writers; w++)
        {
            Assert.True(processes[w].ExitCode == 0, $"writer {w} exited {processes[w].ExitCode}: {await errors[w]}");
            Assert.Equal("ok", (await outputs[w]).Trim());
        }
        log.WriteLine($"{writers} processes x {times} writes of {65536 + 32:N0} bytes; {reads:N0} reads while they ran, {torn} torn");
        Assert.Equal(0, torn);
        Assert.True(reads > 0, "the file was never read while the writers ran");
        Assert.True(IsWhole(File.ReadAllBytes(file)));
        Assert.Equal([file], Directory.GetFiles(folder.Path)); // every writer renamed or removed its own temporary file
    }

    [Fact]
    public void Should_give_every_writer_a_temporary_name_of_its_own_created_exclusively()
    {
        using var folder = new TempFolder();
        string file = folder["x.json"];
        var names = Enumerable.Range(0, 100).AsParallel().Select(_ => AtomicFile.CreateTemporary(file)).ToList();
        Assert.Equal(100, names.Distinct().Count());
        Assert.All(names, n => Assert.True(File.Exists(n) && n.StartsWith(file + ".", StringComparison.Ordinal) && n.EndsWith(".tmp", StringComparison.Ordinal)));
    }

    [Fact]
    public void Should_remove_the_leftovers_of_dead_writers_on_this_host_and_keep_those_of_live_writers_and_other_hosts()
    {
        using var folder = new TempFolder();
        string file = folder["run.json"];
        // This host's prefix, as AtomicFile names it: FILE.HOST.PID.N.tmp.
        string mine = AtomicFile.CreateTemporary(file);
        var parts = Path.GetFileName(mine)["run.json.".Length..^".tmp".Length].Split('.');
        string host = string.Join('.', parts[..^2]);
        File.Delete(mine);

        using var ended = Process.Start(new ProcessStartInfo("true"))!;
        ended.WaitForExit();
        string dead = $"{file}.{host}.{ended.Id}.1.tmp";          // its writer was killed before the rename
        string older = file + ".tmp";                                // the one name older versions used
        string live = $"{file}.{host}.{Environment.ProcessId}.99999.tmp"; // this process: another thread may be writing it
        string otherHost = $"{file}.node-b.example.{ended.Id}.1.tmp";  // another host's processes cannot be seen from here
        string otherFile = $"{folder["history.csv"]}.{host}.{ended.Id}.1.tmp";
        foreach (string f in new[] { dead, older, live, otherHost, otherFile }) File.WriteAllText(f, "partial");

        AtomicFile.WriteAllText(file, "{}");
        // A temporary file of this process that is itself written atomically (as a shard's comparison.json is).
        string ownTemporary = AtomicFile.CreateTemporary(file);
        AtomicFile.WriteAllText(ownTemporary, "{}");
        Assert.Equal("{}", File.ReadAllText(ownTemporary));
        File.Delete(ownTemporary);

        Assert.Equal("{}", File.ReadAllText(file));
        Assert.False(File.Exists(dead));
        Assert.False(File.Exists(older));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(otherHost));
        Assert.True(File.Exists(otherFile)); // only the written file's own leftovers are its business
    }

    [Fact]
    public void Should_leave_the_old_file_and_no_temporary_file_when_writing_fails()
    {
        using var folder = new TempFolder();
        string file = folder["report.md"];
        AtomicFile.WriteAllText(file, "old");
        Assert.Throws<IOException>(() => AtomicFile.Write(file, stream =>
        {
            stream.Write("new, partly"u8);
            throw new IOException("No space left on device");
        }));
        Assert.Equal("old", File.ReadAllText(file));
        Assert.Equal([file], Directory.GetFiles(folder.Path));
    }
}
