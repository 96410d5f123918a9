using System.Text.Json;
using TwinTrain.Frameworks.Torch;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

/// <summary>A loss that becomes NaN or infinite is a result, not a success: the run says so, and its model is refused.</summary>
public class DivergenceTests
{
    [Fact]
    public async Task Should_stop_a_diverging_run_with_status_diverged_and_exit_code_2()
    {
        using var folder = new TempFolder();
        string run = Path.Combine(folder.Path, "run");
        // Adam at a learning rate of 1e6 sends the Keras-style model's loss to NaN within the first epoch.
        var (code, output, error) = await Run("train", "-f", "keras", "--lr", "1e6", "--data", SharedData.ArchivePath,
            "--epochs", "3", "--limit-train", "1280", "--limit-test", "200", "--out", run);
        Assert.Equal(CommandRunner.Failure, code);
        Assert.Matches(@"Training diverged: the loss (became NaN|reached [0-9.E+]+, beyond 100 × ln 10 = 230) at epoch 1, step ", output);
        Assert.Contains("learning rate 1000000", output);
        Assert.Contains("No epoch was completed, so no model was saved.", output);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "run.json")));
        Assert.Equal("diverged", summary.RootElement.GetProperty("status").GetString());
        Assert.StartsWith("epoch 1, step ", summary.RootElement.GetProperty("diverged_at").GetString());
        Assert.Equal(0, summary.RootElement.GetProperty("history").GetArrayLength());
        Assert.False(Directory.Exists(Path.Combine(run, "checkpoint")), "the diverged weights are not saved");
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task Should_record_a_diverged_run_in_a_comparison_and_leave_it_out_of_the_statistics()
    {
        using var folder = new TempFolder();
        var (code, output, error) = await Run("compare", "--lr", "1e6", "--seeds", "0", "--data", SharedData.ArchivePath,
            "--epochs", "1", "--limit-train", "640", "--limit-test", "100", "--out", folder.Path);
        Assert.True(code == CommandRunner.Failure, error);
        Assert.Contains("keras      seed 0 diverged at epoch 1, step ", output);
        string report = File.ReadAllText(Path.Combine(folder.Path, "report.md"));
        Assert.Contains("keras seed 0: diverged at epoch 1, step ", report);
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "results.json")));
        Assert.DoesNotContain(results.RootElement.GetProperty("conditions")[0].GetProperty("summaries").EnumerateArray(), s => s.GetProperty("framework").GetString() == "keras");
    }

    [Fact]
    public async Task Should_call_every_framework_diverged_by_one_rule_at_a_huge_learning_rate()
    {
        // At 1e5 TorchSharp's loss stays finite (it read 9.7e25 with 10% accuracy) while the Keras-style one becomes NaN:
        // one rule (not finite, or beyond 100 × ln 10) calls both diverged, and the comparison keeps neither.
        using var folder = new TempFolder();
        var (code, output, error) = await Run("compare", "--lr", "100000", "--seeds", "0", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder,
            "--epochs", "1", "--limit-train", "640", "--limit-test", "100", "--threads", "1", "--out", folder.Path);
        Assert.True(code == CommandRunner.Failure, error + output);
        foreach (string framework in new[] { "keras", "torch" })
        {
            Assert.Contains($"{framework,-10} seed 0 diverged at epoch 1, step ", output);
            using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "runs", $"{framework}-seed0", "run.json")));
            Assert.Equal("diverged", run.RootElement.GetProperty("status").GetString());
            Assert.Matches("^the loss (became NaN|became infinite|reached .*, beyond 100 × ln 10 = 230)$", run.RootElement.GetProperty("diverged_because").GetString());
        }
        Assert.Contains("No comparison: no framework completed a run", output);
        Assert.Contains("exceeds 100 × ln 10 = 230 (a hundred times the loss of a uniform guess over the 10 classes)", File.ReadAllText(Path.Combine(folder.Path, "report.md")));
    }

    [Theory]
    [InlineData("keras")]
    [InlineData("torch")]
    public async Task Should_refuse_to_evaluate_a_model_whose_weights_are_not_finite(string framework)
    {
        using var folder = new TempFolder();
        string run = Path.Combine(folder.Path, "run");
        var (code, _, error) = await Run("train", "-f", framework, "--data", SharedData.ArchivePath,
            "--epochs", "1", "--limit-train", "256", "--limit-test", "100", "--out", run);
        Assert.True(code == 0, error);
        // Poison one weight as a diverged training would, through the framework's own file format.
        string poisoned = Path.Combine(folder.Path, framework == "keras" ? "poisoned.zip" : "poisoned.pt");
        if (framework == "keras")
        {
            using var model = Keras.Sequential.Load(ModelIn(run));
            model.Weights[0].Value[3] = float.NaN;
            model.Save(poisoned);
        }
        else
        {
            using var model = Experiment.Architectures.Architecture.Study.Torch.CreateModule();
            model.load(ModelIn(run));
            using (TorchSharp.torch.no_grad()) model.state_dict()["fc1.bias"][0] = TorchSharp.torch.tensor(float.PositiveInfinity);
            TorchSharp.PyBridge.PyBridgeModuleExtensions.save_py(model, poisoned);
        }
        foreach (string[] command in new[]
        {
            new[] { "evaluate", "--model", poisoned, "--data", SharedData.ArchivePath, "--limit-test", "50" },
            new[] { "export", "--model", poisoned, "--out", Path.Combine(folder.Path, "m.onnx") },
        })
        {
            (code, _, error) = await Run(command);
            Assert.Equal(CommandRunner.Failure, code);
            Assert.Contains(poisoned, error);
            Assert.Contains("not finite", error);
            Assert.Contains(framework == "keras" ? "conv2d" : "fc1.bias", error);
        }
        Assert.False(File.Exists(Path.Combine(folder.Path, "m.onnx")));
    }
}
