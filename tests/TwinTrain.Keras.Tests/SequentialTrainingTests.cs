using TwinTrain.Keras.Callbacks;
using TwinTrain.Keras.Layers;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Keras.Tests;

public class SequentialTrainingTests
{
    static Sequential Compiled(int seed = 0, int threads = 2)
    {
        var model = StudyModel.Create(seed);
        model.Compile(optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
        model.Threads = threads;
        return model;
    }

    [Fact]
    public void Should_give_bitwise_identical_weights_for_the_same_seed_and_thread_count()
    {
        var (x, y) = StudyModel.RandomBatch(200, seed: 5);
        float[][] Train()
        {
            using var model = Compiled(seed: 1, threads: 2);
            model.Fit(x, y, epochs: 2, batchSize: 32, seed: 9, verbose: 0);
            return model.GetWeights();
        }
        var first = Train();
        var second = Train();
        for (int i = 0; i < first.Length; i++) Assert.Equal(first[i], second[i]);
    }

    [Fact]
    public void Should_agree_closely_across_thread_counts()
    {
        var (x, y) = StudyModel.RandomBatch(64, seed: 6);
        using var one = Compiled(threads: 1);
        using var two = Compiled(threads: 2);
        var (lossOne, gradientsOne) = one.ComputeGradients(x, y);
        var (lossTwo, gradientsTwo) = two.ComputeGradients(x, y);
        Assert.Equal(lossOne, lossTwo, 6);
        for (int i = 0; i < gradientsOne.Length; i++)
        {
            double scale = gradientsOne[i].Max(Math.Abs);
            for (int j = 0; j < gradientsOne[i].Length; j++) Assert.True(Math.Abs(gradientsOne[i][j] - gradientsTwo[i][j]) <= 1e-5 * scale + 1e-9);
        }
    }

    [Fact]
    public void Should_log_sample_weighted_means_over_the_epoch_like_keras()
    {
        // 10 samples in batches of 4, 4, 2: the epoch's loss weights the last batch by 2, not by 4.
        var (x, y) = StudyModel.RandomBatch(10, seed: 8);
        using var fitted = Compiled(seed: 2, threads: 1);
        var history = fitted.Fit(x, y, epochs: 1, batchSize: 4, shuffle: false, verbose: 0);

        using var stepped = Compiled(seed: 2, threads: 1);
        double lossSum = 0, correct = 0;
        foreach (var (start, count) in new[] { (0, 4), (4, 4), (8, 2) })
        {
            var (loss, accuracy) = stepped.TrainOnBatch(x.AsSpan(start * 3072, count * 3072), y.AsSpan(start, count));
            lossSum += loss * count;
            correct += accuracy * count;
        }
        Assert.Equal(lossSum / 10, history["loss"][0], 6);
        Assert.Equal(correct / 10, history["accuracy"][0], 10);
        Assert.Equal(stepped.GetWeights()[0], fitted.GetWeights()[0]);
    }

    [Fact]
    public void Should_print_one_keras_line_per_epoch_with_validation_metrics()
    {
        var (x, y) = StudyModel.RandomBatch(40, seed: 9);
        using var model = Compiled();
        var output = new StringWriter();
        model.Fit(x, y, epochs: 2, batchSize: 16, validationData: (x, y), verbose: 2, output: output);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal("Epoch 1/2", lines[0].TrimEnd());
        // verbose 2: Keras's one line per epoch, without the bar (progbar.py, update, the verbose == 2 branch).
        Assert.Matches(@"^3/3 - \d+s - \d+(ms|us|s)/step - accuracy: [\d.]+ - loss: [\d.]+ - val_accuracy: [\d.]+ - val_loss: [\d.]+\r?$", lines[1]);
        // One epoch: no "Epoch 1/1" (keras/src/callbacks/progbar_logger.py, on_epoch_begin: only when epochs > 1).
        var single = new StringWriter();
        model.Fit(x, y, epochs: 1, batchSize: 16, verbose: 2, output: single);
        Assert.DoesNotContain("Epoch", single.ToString());
        Assert.StartsWith("3/3 - ", single.ToString());
    }

    [Fact]
    public void Should_stop_early_and_restore_the_best_weights()
    {
        var (x, y) = StudyModel.RandomBatch(32, seed: 10);
        using var model = Compiled();
        // Random labels: validation loss on other random data cannot keep improving for long.
        var (xv, yv) = StudyModel.RandomBatch(32, seed: 11);
        var stopper = new EarlyStopping(monitor: "val_loss", patience: 1, restoreBestWeights: true);
        var checkpoint = new CheckpointSpy();
        var history = model.Fit(x, y, epochs: 30, batchSize: 8, validationData: (xv, yv), callbacks: [stopper, checkpoint], verbose: 0);

        Assert.True(stopper.StoppedEpoch > 0 && stopper.StoppedEpoch < 29, $"stopped at {stopper.StoppedEpoch}");
        Assert.Equal(stopper.StoppedEpoch + 1, history.Epochs.Count);
        Assert.Equal(stopper.StoppedEpoch - 1, stopper.BestEpoch); // patience 1: the first epoch without improvement stops
        Assert.Equal(checkpoint.WeightsAfter[stopper.BestEpoch][0], model.GetWeights()[0]);
    }

    sealed class CheckpointSpy : Callback
    {
        public List<float[][]> WeightsAfter { get; } = [];
        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => WeightsAfter.Add(Model.GetWeights());
    }

    [Fact]
    public void Should_checkpoint_only_improvements_and_log_csv()
    {
        using var folder = new TempFolder();
        var (x, y) = StudyModel.RandomBatch(32, seed: 12);
        using var model = Compiled();
        var checkpoint = new ModelCheckpoint(Path.Combine(folder.Path, "best.keras"), monitor: "loss", saveBestOnly: true);
        string csv = Path.Combine(folder.Path, "log.csv");
        var history = model.Fit(x, y, epochs: 4, batchSize: 8, callbacks: [checkpoint, new CSVLogger(csv)], verbose: 0);

        int improvements = 1 + Enumerable.Range(1, 3).Count(e => history["loss"][e] < history["loss"].Take(e).Min());
        Assert.Equal(improvements, checkpoint.SavedCount);
        Assert.True(File.Exists(Path.Combine(folder.Path, "best.keras")));
        var lines = File.ReadAllLines(csv);
        Assert.Equal("epoch,accuracy,loss,val_accuracy,val_loss", lines[0]);
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("3,", lines[4]);
    }

    [Fact]
    public void Should_save_and_load_the_architecture_compile_settings_and_weights()
    {
        using var folder = new TempFolder();
        var (x, y) = StudyModel.RandomBatch(16, seed: 13);
        using var model = Compiled();
        model.Fit(x, y, epochs: 1, batchSize: 8, verbose: 0);
        string path = Path.Combine(folder.Path, "model.zip");
        model.Save(path);

        using var loaded = Sequential.Load(path);
        Assert.Equal(model.Summary(), loaded.Summary());
        Assert.Equal(model.Predict(x), loaded.Predict(x));
        Assert.Equal("adam", loaded.Optimizer!.Name);
        Assert.Equal(model.Evaluate(x, y)["accuracy"], loaded.Evaluate(x, y)["accuracy"]);
    }

    [Fact]
    public void Should_reject_a_model_file_whose_weights_fail_their_crc()
    {
        using var folder = new TempFolder();
        using var model = Compiled();
        string path = Path.Combine(folder.Path, "model.zip");
        model.Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        // Stored uncompressed, weights.bin and optimizer.bin are nearly all of the file: flip one bit in the middle.
        bytes[bytes.Length / 2] ^= 0x04;
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("is damaged (its CRC-32 does not match", error.Message);
    }

    [Fact]
    public void Should_reject_a_truncated_or_foreign_model_file_with_a_clear_message()
    {
        using var folder = new TempFolder();
        using var model = Compiled();
        string path = Path.Combine(folder.Path, "model.zip");
        model.Save(path);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..5000]);
        var error = Assert.Throws<InvalidDataException>(() => Sequential.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("cannot load the model", error.Message);

        File.WriteAllText(path, "not a zip");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => Sequential.Load(path)).Message);
    }

    [Fact]
    public void Should_require_compile_and_explain_bad_input_sizes()
    {
        using var model = StudyModel.Create();
        var (x, y) = StudyModel.RandomBatch(2, seed: 1);
        Assert.Contains("Compile", Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, verbose: 0)).Message);
        Assert.Contains("(None, 32, 32, 3)", Assert.Throws<ArgumentException>(() => model.Predict(new float[100])).Message);
        Assert.Throws<ArgumentException>(() => model.Compile(metrics: ["f1"]));
    }

    [Fact]
    public void Should_predict_probabilities_that_sum_to_one()
    {
        using var model = Compiled();
        var (x, _) = StudyModel.RandomBatch(5, seed: 14);
        var p = model.Predict(x);
        Assert.Equal(50, p.Length);
        for (int i = 0; i < 5; i++) Assert.Equal(1.0, p.AsSpan(i * 10, 10).ToArray().Sum(), 5);
    }
}

/// <summary>Process-wide allocation counts see every thread, so these run alone, after the parallel tests.</summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public sealed class AllocationCollection;

[Collection(nameof(AllocationTests))]
public class AllocationTests
{
    /// <summary>The study's CNN, or one with the layers the study lacks (same padding, BatchNormalization, ReLU layers, dropout, global pooling).</summary>
    static (Sequential Model, float[] X, int[] Y) WarmModel(int threads, bool batchNormalized = false)
    {
        var (x, y) = StudyModel.RandomBatch(64, seed: 7);
        var model = batchNormalized
            ? new Sequential(0, [32, 32, 3],
            [
                new Conv2D(32, (3, 3), padding: "same"), new BatchNormalization(), new ReLU(), new MaxPooling2D((2, 2)),
                new Conv2D(64, (3, 3), padding: "same"), new BatchNormalization(), new ReLU(), new MaxPooling2D((2, 2)),
                new GlobalAveragePooling2D(), new Dropout(0.3), new Dense(10, activation: "softmax"),
            ])
            : StudyModel.Create();
        model.Compile(optimizer: "adam", metrics: ["accuracy"]);
        model.Threads = threads;
        // Enough warm-up for tiered compilation to settle (its work allocates too).
        for (int i = 0; i < 60; i++) model.TrainOnBatch(x, y);
        return (model, x, y);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_allocate_nothing_per_training_step_on_one_thread(bool batchNormalized)
    {
        var (model, x, y) = WarmModel(threads: 1, batchNormalized);
        using (model)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) model.TrainOnBatch(x, y);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_allocate_next_to_nothing_per_training_step_on_two_threads(bool batchNormalized)
    {
        var (model, x, y) = WarmModel(threads: 2, batchNormalized);
        using (model)
        {
            // Process-wide: the test host's own threads (and, on a loaded machine, late tiered compilation) may
            // allocate a little meanwhile, so the quietest of three windows is the step's own.
            long perStep = long.MaxValue;
            for (int window = 0; window < 3; window++)
            {
                long before = GC.GetTotalAllocatedBytes(precise: true);
                for (int i = 0; i < 20; i++) model.TrainOnBatch(x, y);
                perStep = Math.Min(perStep, (GC.GetTotalAllocatedBytes(precise: true) - before) / 20);
            }
            Assert.True(perStep < 1024, $"{perStep} bytes allocated per training step");
        }
    }
}

public class CheckpointTests
{
    [Fact]
    public void Should_save_over_a_temporary_file_left_by_a_crash()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "model.zip");
        // What a crash or a full disk in the middle of an earlier save leaves: a truncated temporary file.
        File.WriteAllBytes(path + ".tmp", [0x50, 0x4B, 0x03]);
        using var model = StudyModel.Create(seed: 4);
        model.Save(path);
        Assert.False(File.Exists(path + ".tmp"));
        using var loaded = Sequential.Load(path);
        Assert.Equal(model.GetWeights()[0], loaded.GetWeights()[0]);
    }

    [Fact]
    public void Should_continue_bitwise_identically_after_saving_and_loading_with_optimizer_state()
    {
        using var folder = new TempFolder();
        var (x, y) = StudyModel.RandomBatch(96, seed: 21);
        float[][] Straight()
        {
            using var model = StudyModel.Create(seed: 3);
            model.Compile(optimizer: "adam", metrics: ["accuracy"]);
            model.Threads = 2;
            model.Fit(x, y, epochs: 2, batchSize: 32, seed: 5, verbose: 0);
            return model.GetWeights();
        }
        string path = Path.Combine(folder.Path, "epoch1.zip");
        using (var first = StudyModel.Create(seed: 3))
        {
            first.Compile(optimizer: "adam", metrics: ["accuracy"]);
            first.Threads = 2;
            first.Fit(x, y, epochs: 1, batchSize: 32, seed: 5, verbose: 0);
            first.Save(path);
        }
        using var resumed = Sequential.Load(path);
        resumed.Threads = 2;
        Assert.Equal(3, resumed.Optimizer!.Iterations);
        resumed.Fit(x, y, epochs: 2, initialEpoch: 1, batchSize: 32, seed: 5, verbose: 0);

        var expected = Straight();
        var actual = resumed.GetWeights();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i]);
    }
}
