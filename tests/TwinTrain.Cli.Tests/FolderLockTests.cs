using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

public class FolderLockTests
{
    [Fact]
    public async Task Should_refuse_a_second_process_on_a_folder_in_use_naming_the_holder_and_free_it_when_the_holder_dies()
    {
        using var folder = new TempFolder();
        string run = folder["run"];
        string[] train = ["train", "-f", "keras", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder,
            "--epochs", "1000", "--limit-train", "1000", "--limit-test", "100", "--threads", "1", "--out", run];
        using var holder = CliProcess.Start(null, train);
        try
        {
            string holderFile = Path.Combine(run, ".lock-holder");
            for (int i = 0; i < 300 && !(File.Exists(holderFile) && File.ReadAllText(holderFile).Contains($"pid {holder.Id}")); i++) await Task.Delay(100);

            var (code, _, error) = await Run(train);
            Assert.Equal(CommandRunner.Failure, code);
            Assert.Contains($"{run}: in use by another TwinTrain process (pid {holder.Id} on {TwinTrain.Experiment.Checkpoints.FolderLock.Host}, 'train' since ", error);

            (code, _, error) = await Run("train", "--resume", run, "--cache-dir", SharedData.CacheFolder);
            Assert.Equal(CommandRunner.Failure, code);
            Assert.Contains($"(pid {holder.Id} on {TwinTrain.Experiment.Checkpoints.FolderLock.Host}, 'train'", error);

            (code, _, error) = await Run("compare", "--data", SharedData.ArchivePath, "--out", run, "--epochs", "1");
            Assert.Equal(CommandRunner.Failure, code);
            Assert.Contains($"(pid {holder.Id} on {TwinTrain.Experiment.Checkpoints.FolderLock.Host}, 'train'", error);
        }
        finally
        {
            holder.Kill();
            await holder.WaitForExitAsync();
        }

        // The kernel released the dead holder's lock: the folder is free.
        using var free = TwinTrain.Experiment.Checkpoints.FolderLock.Take(run, "test");
    }
}
