using System.Security.Cryptography;
using System.Text.Json;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

public class ResumeTests
{
    static string[] Train(string framework, string folder, int epochs) =>
        ["train", "-f", framework, "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--epochs", epochs.ToString(),
         "--limit-train", "384", "--limit-test", "100", "--threads", "2", "--seed", "3", "--out", folder];

    static float[][] TorchWeights(string folder)
    {
        using var model = new TwinTrain.Frameworks.Torch.Study.StudyCnn();
        model.load(ModelIn(folder));
        return model.parameters().Select(p => p.data<float>().ToArray()).ToArray();
    }

    [Theory]
    [InlineData("keras")]
    [InlineData("torch")]
    public async Task Should_give_the_same_weights_for_two_epochs_straight_and_one_plus_one_resumed(string framework)
    {
        using var folder = new TempFolder();
        string straight = Path.Combine(folder.Path, "straight"), resumed = Path.Combine(folder.Path, "resumed");
        Assert.Equal(0, (await Run(Train(framework, straight, 2))).Code);
        Assert.Equal(0, (await Run(Train(framework, resumed, 1))).Code);
        var (code, output, error) = await Run("train", "--resume", resumed, "--epochs", "2", "--cache-dir", SharedData.CacheFolder);
        Assert.True(code == 0, error);
        Assert.Contains("Resuming " + framework, output);
        Assert.Contains("Epoch 2/2", output);
        Assert.DoesNotContain("Epoch 1/2", output);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(resumed, "history.csv")).Length);

        if (framework == "keras")
        {
            using var a = TwinTrain.Keras.Sequential.Load(ModelIn(straight));
            using var b = TwinTrain.Keras.Sequential.Load(ModelIn(resumed));
            var (wa, wb) = (a.GetWeights(), b.GetWeights());
            for (int i = 0; i < wa.Length; i++) Assert.Equal(wa[i], wb[i]); // bitwise
        }
        else
        {
            var (wa, wb) = (TorchWeights(straight), TorchWeights(resumed));
            for (int i = 0; i < wa.Length; i++)
                for (int j = 0; j < wa[i].Length; j++) Assert.True(Math.Abs(wa[i][j] - wb[i][j]) < 1e-5, $"parameter {i}[{j}]");
        }
    }

    [Fact]
    public async Task Should_refuse_to_resume_a_complete_run_a_foreign_folder_and_a_damaged_checkpoint()
    {
        using var folder = new TempFolder();
        string run = Path.Combine(folder.Path, "run");
        Assert.Equal(0, (await Run(Train("keras", run, 1))).Code);

        var (code, _, error) = await Run("train", "--resume", run, "--cache-dir", SharedData.CacheFolder);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("already has 1 epoch(s); pass --epochs N", error);

        (code, _, error) = await Run("train", "--resume", folder.Path);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("not a run folder", error);

        string model = ModelIn(run);
        File.WriteAllBytes(model, File.ReadAllBytes(model)[..3000]);
        (code, _, error) = await Run("train", "--resume", run, "--epochs", "2", "--cache-dir", SharedData.CacheFolder);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Contains("model.keras", error);
        Assert.Contains("the file is damaged: its SHA-256 is", error);
    }
}
