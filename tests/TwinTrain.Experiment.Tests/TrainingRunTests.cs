using TwinTrain.Tests.Shared;
using System.Text.Json;
using TwinTrain.Data;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Experiment.Reporting;

namespace TwinTrain.Experiment.Tests;

public class TrainingRunTests
{
    /// <summary>A framework whose metrics are known: loss 1/(epoch+1), accuracy epoch/10; can ask to stop mid-epoch.</summary>
    sealed class ScriptedFramework(int steps, CancellationTokenSource? stopAt = null, int stopEpoch = -1, int stopStep = -1) : IFramework
    {
        public string Name => "scripted";
        public IReadOnlyDictionary<string, string> Versions { get; } = new Dictionary<string, string> { ["Scripted"] = "1.0" };
        public long ParameterCount => 42;
        public float[][] TrainableWeightsInKerasLayout() => [];
        public IReadOnlyList<FrameworkSetting> Settings => [new("(model)", "threads", "1")];
        public int StepsPerEpoch => steps;
        public int Evaluations { get; private set; }
        int _epoch;

        public Metrics TrainEpoch(int epoch, StepCallback? afterStep, CancellationToken stop)
        {
            _epoch = epoch;
            int step = 0;
            while (step < steps && !stop.IsCancellationRequested)
            {
                step++;
                afterStep?.Invoke(step, new Metrics(1.0 / (epoch + 1), epoch / 10.0, step * 10));
                if (epoch == stopEpoch && step == stopStep) stopAt!.Cancel();
            }
            return new Metrics(1.0 / (epoch + 1), epoch / 10.0, step * 10);
        }

        public Metrics Evaluate(ImageSet set)
        {
            Evaluations++;
            return new Metrics(2.0 / (_epoch + 1), _epoch / 20.0, set.Count);
        }

        public int[] PredictClasses(ImageSet set) => set.Labels.Select((l, i) => i == 0 ? (l + 1) % 10 : l).Select(l => (int)l).ToArray();

        public void LoadCheckpoint(string folder) => throw new NotSupportedException();

        public string SaveCheckpoint(string folder)
        {
            File.WriteAllText(Path.Combine(folder, "weights.txt"), "w");
            return "weights.txt";
        }

        public void Dispose() { }
    }

    static Dataset TinyData() => new(DatasetInfo.Cifar10, new ImageSet(new byte[3072 * 4], new byte[4]), new ImageSet(new byte[3072 * 2], new byte[2]));
    static DataSummary TinySummary => new("tiny", "test", false, 0, 4, 2);

    [Fact]
    public void Should_write_history_csv_run_json_and_weights()
    {
        using var folder = new TempFolder();
        var framework = new ScriptedFramework(steps: 3);
        var summary = new TrainingRun(new StringWriter(), liveProgress: false)
            .Execute(framework, new TrainingConfig { Epochs = 2 }, Architectures.Architecture.Study, TinyData(), TinySummary, folder.Path, CancellationToken.None);

        Assert.Equal("completed", summary.Status);
        Assert.Equal(2, framework.Evaluations);
        var lines = File.ReadAllLines(Path.Combine(folder.Path, "history.csv"));
        Assert.Equal("epoch,loss,accuracy,val_loss,val_accuracy,seconds", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("2,0.5,0.1,1,0.05,", lines[2]);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "run.json")));
        var root = json.RootElement;
        Assert.Equal("scripted", root.GetProperty("framework").GetString());
        Assert.Equal("completed", root.GetProperty("status").GetString());
        Assert.Equal(0.05, root.GetProperty("test_accuracy").GetDouble());
        Assert.Equal(2, root.GetProperty("config").GetProperty("epochs").GetInt32());
        Assert.True(root.GetProperty("machine").GetProperty("logical_cores").GetInt32() >= 1);
        Assert.Equal("1.0", root.GetProperty("versions").GetProperty("Scripted").GetString());
        Assert.True(root.GetProperty("peak_memory_bytes").GetInt64() > 0);
        // The last epoch's checkpoint only, with the config and the files' SHA-256 (as sha256sum -c reads them).
        string checkpoint = Path.Combine(folder.Path, "checkpoint", "epoch-0002");
        Assert.Equal([checkpoint], Directory.GetDirectories(Path.Combine(folder.Path, "checkpoint")));
        Assert.Equal(["SHA256SUMS", "model.json", "weights.txt"], Directory.GetFiles(checkpoint).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains($"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("w"u8))}  weights.txt\n", File.ReadAllText(Path.Combine(checkpoint, "SHA256SUMS")));
        // The scripted framework gets the first test image wrong: label 0 predicted as 1.
        Assert.Equal(1, summary.ConfusionMatrix![0][1]);
        Assert.Equal(2, summary.ConfusionMatrix.Sum(row => row.Sum()));
    }

    [Fact]
    public void Should_stop_after_the_current_step_and_keep_completed_epochs_when_interrupted()
    {
        using var folder = new TempFolder();
        using var stop = new CancellationTokenSource();
        var framework = new ScriptedFramework(steps: 5, stop, stopEpoch: 1, stopStep: 2);
        var console = new StringWriter();
        var summary = new TrainingRun(console, liveProgress: false)
            .Execute(framework, new TrainingConfig { Epochs = 4 }, Architectures.Architecture.Study, TinyData(), TinySummary, folder.Path, stop.Token);

        Assert.Equal("interrupted", summary.Status);
        Assert.Equal("epoch 2, step 2/5", summary.InterruptedAt);
        Assert.Single(summary.History);
        Assert.Equal(1, framework.Evaluations);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(folder.Path, "history.csv")).Length);
        Assert.Contains("\"status\": \"interrupted\"", File.ReadAllText(Path.Combine(folder.Path, "run.json")));
        Assert.True(File.Exists(Path.Combine(folder.Path, "checkpoint", "epoch-0001", "weights.txt")));
        Assert.Equal("checkpoint/epoch-0001/weights.txt", summary.WeightsFile);
        Assert.Contains("Interrupted at epoch 2, step 2/5", console.ToString());
    }
}
