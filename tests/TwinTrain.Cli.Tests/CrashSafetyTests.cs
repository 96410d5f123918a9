using TwinTrain.Experiment.Reporting;
using TwinTrain.Tests.Shared;
using Xunit.Abstractions;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

/// <summary>
/// A run killed (SIGKILL: an out-of-memory kill or a power cut) or hitting a full disk at any file operation of its
/// checkpoints continues to the straight run's result: bitwise for the Keras-style engine, within float noise for
/// libtorch. The operations are counted and interrupted by <see cref="Data.FaultInjection"/> in a child process.
/// </summary>
public class CrashSafetyTests(ITestOutputHelper log)
{
    static string[] Train(string framework, string folder) =>
        ["train", "-f", framework, "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--epochs", "2",
         "--limit-train", "256", "--limit-test", "64", "--threads", "2", "--seed", "5", "--out", folder];

    [Theory]
    [InlineData("keras", "kill")]
    [InlineData("torch", "kill")]
    [InlineData("keras", "enospc")]
    public async Task Should_continue_to_the_straight_result_after_a_crash_at_every_file_operation(string framework, string fault)
    {
        using var folder = new TempFolder();
        string straight = folder["straight"];
        var (code, _, error) = await Run(Train(framework, straight));
        Assert.True(code == 0, error);
        var expected = Result(framework, straight);

        int operations = 0;
        for (int at = 1; at < 100; at++)
        {
            string run = folder[$"{fault}-{at}"], faultLog = folder[$"{fault}-{at}.log"];
            var environment = new Dictionary<string, string> { ["TWINTRAIN_FAULT"] = $"{fault}:{at}", ["TWINTRAIN_FAULT_LOG"] = faultLog };
            (code, _, error) = await CliProcess.Run(environment, Train(framework, run));
            if (code == 0) break; // the run has fewer operations than this: every one was interrupted once
            operations = at;
            string operation = File.ReadLines(faultLog).Last().Split('\t')[1];
            if (fault == "kill") Assert.True(code == CliProcess.Killed, $"operation {at} ({operation}): exit {code}, {error}");
            else
            {
                Assert.True(code == CommandRunner.Failure, $"operation {at} ({operation}): exit {code}");
                Assert.Matches(@"^error: .*No space left on device.*\n$", error);
            }

            // What a user does next: resume the run if it has a run.json, else start it again in the same folder.
            var status = RunFiles.ReadRun(run)?.Status;
            string did = "nothing: the run had completed";
            if (status != "completed")
            {
                var (next, output, nextError) = status is not null
                    ? await Run("train", "--resume", run, "--epochs", "2", "--cache-dir", SharedData.CacheFolder)
                    : await Run(Train(framework, run));
                Assert.True(next == 0, $"operation {at} ({operation}): {nextError}");
                did = status is null ? "trained again from the start"
                    : "resumed " + output.Split('\n').First(l => l.StartsWith("Resuming", StringComparison.Ordinal)).Split(" after ")[1];
            }
            log.WriteLine($"{at,2}  {operation,-40} {did}");

            var actual = Result(framework, run);
            Assert.Equal(expected.Epochs, actual.Epochs);
            for (int i = 0; i < expected.Weights.Length; i++)
            {
                if (framework == "keras") Assert.Equal(expected.Weights[i], actual.Weights[i]); // bitwise
                else Assert.True(Math.Abs(expected.Weights[i] - actual.Weights[i]) < 1e-5, $"operation {at} ({operation}): weight {i}");
            }
            Assert.Empty(Directory.GetFiles(run, "*.tmp", SearchOption.AllDirectories));
            Assert.Single(Directory.GetDirectories(Path.Combine(run, "checkpoint")));
        }
        Assert.True(operations >= 20, $"only {operations} file operations were interrupted");
    }

    /// <summary>The run's status and epochs from run.json, and every weight of its model.</summary>
    static (string Epochs, float[] Weights) Result(string framework, string folder)
    {
        var run = RunFiles.ReadRun(folder)!;
        Assert.Equal("completed", run.Status);
        string epochs = string.Join(";", run.History.Select(e => $"{e.Epoch}:{e.Loss:R}:{e.ValAccuracy:R}"));
        if (framework == "torch") epochs = string.Join(";", run.History.Select(e => $"{e.Epoch}:{e.Loss:F4}:{e.ValAccuracy:F3}"));
        if (framework == "keras")
        {
            using var keras = TwinTrain.Keras.Sequential.Load(ModelIn(folder));
            return (epochs, keras.GetWeights().SelectMany(w => w).ToArray());
        }
        using var torch = new TwinTrain.Frameworks.Torch.Study.StudyCnn();
        torch.load(ModelIn(folder));
        var weights = torch.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        return (epochs, weights);
    }
}
