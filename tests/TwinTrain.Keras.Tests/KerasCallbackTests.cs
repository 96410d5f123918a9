using TwinTrain.Keras.Callbacks;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Optimizers;
using TwinTrain.Keras.Utils;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Keras.Tests;

/// <summary>
/// The callbacks a Keras user meets, driven epoch by epoch with scripted logs. Each expected outcome is worked out by
/// hand from Keras 3's own source, cited at the test (keras/src/callbacks/*.py at the mirrored HEAD).
/// </summary>
[Collection(ConsoleCapture.Collection)]
public class KerasCallbackTests
{
    static Sequential Model()
    {
        var model = new Sequential(seed: 1, [4], [new Dense(3, "softmax")]);
        model.Compile(new Adam(0.001), metrics: ["accuracy"]);
        return model;
    }

    /// <summary>Runs the callback over val_loss values; returns the epoch (from 0) after which training stopped, or -1.</summary>
    static int StopsAfter(Callback callback, Sequential model, params double[] valLoss)
    {
        callback.Model = model;
        callback.OnTrainBegin();
        for (int epoch = 0; epoch < valLoss.Length; epoch++)
        {
            callback.OnEpochBegin(epoch);
            callback.OnEpochEnd(epoch, new Dictionary<string, double> { ["loss"] = 1, ["val_loss"] = valLoss[epoch], ["val_accuracy"] = 1 - valLoss[epoch] });
            if (model.StopTraining) { callback.OnTrainEnd(new Dictionary<string, double>()); return epoch; }
        }
        callback.OnTrainEnd(new Dictionary<string, double>());
        return -1;
    }

    // early_stopping.py, on_epoch_end: `self.wait += 1`; an improvement (monitor_callback.py, _is_improvement:
    // monitor_op(current - min_delta, best)) sets best and resets wait to 0 and returns; otherwise
    // `if self.wait >= self.patience and epoch > 0` stops. With patience 1 on 1.0, 0.9, 0.95: epoch 0 and 1 improve
    // (wait 0), epoch 2 does not (wait 1 >= 1): stop after epoch 2, not 5 as with `wait > patience`.
    [Fact]
    public void Should_stop_early_when_the_wait_reaches_the_patience()
    {
        using var model = Model();
        Assert.Equal(2, StopsAfter(new EarlyStopping(patience: 1), model, 1.0, 0.9, 0.95, 0.85, 0.86, 0.87, 0.88, 0.89));
        // patience 0: the first epoch without improvement stops (but never epoch 0: `and epoch > 0`).
        using var again = Model();
        Assert.Equal(1, StopsAfter(new EarlyStopping(patience: 0), again, 1.0, 1.1, 0.5));
        // patience 2: 1.0, 0.9 improve; 0.95 (wait 1), 0.85 improves (wait 0), 0.86 (1), 0.87 (2): stop after epoch 5.
        using var third = Model();
        Assert.Equal(5, StopsAfter(new EarlyStopping(patience: 2), third, 1.0, 0.9, 0.95, 0.85, 0.86, 0.87, 0.88));
    }

    // min_delta: monitor_callback.py, _set_monitor_op, `self.min_delta *= -1` for a minimised value, so an improvement
    // must be below best - min_delta. 1.0 then 0.95 is not an improvement with min_delta 0.1.
    [Fact]
    public void Should_count_an_improvement_only_beyond_min_delta()
    {
        using var model = Model();
        Assert.Equal(1, StopsAfter(new EarlyStopping(minDelta: 0.1, patience: 1), model, 1.0, 0.95, 0.8));
    }

    // baseline: early_stopping.py keeps it apart from best (super().__init__ gets no baseline) and resets wait only
    // when `self._is_improvement(current, self.baseline)`; an improving epoch returns before the stop test, so
    // 0.9, 0.8, 0.7 against baseline 0.5 never stop (wait 1, 2, 3), and 0.75 then stops (wait 4 >= 2).
    [Fact]
    public void Should_reset_the_wait_only_below_the_baseline()
    {
        using var model = Model();
        Assert.Equal(3, StopsAfter(new EarlyStopping(patience: 2, baseline: 0.5), model, 0.9, 0.8, 0.7, 0.75, 0.4));
        using var below = Model();
        Assert.Equal(-1, StopsAfter(new EarlyStopping(patience: 1, baseline: 0.5), below, 0.4, 0.3, 0.2));
    }

    // start_from_epoch: `if current is None or epoch < self.start_from_epoch: return`. Epochs 0 and 1 are not looked
    // at; from epoch 2, 5.0 is the first best and 6.0 (epoch 3) stops with patience 1.
    [Fact]
    public void Should_ignore_epochs_before_start_from_epoch()
    {
        using var model = Model();
        Assert.Equal(3, StopsAfter(new EarlyStopping(patience: 1, startFromEpoch: 2), model, 1.0, 9.0, 5.0, 6.0, 7.0));
    }

    // mode "auto" (monitor_callback.py, _set_monitor_op): "val_accuracy" names a metric whose direction is "up", so
    // it is maximised; mode "max" says so explicitly; a name Keras cannot place raises a ValueError.
    [Fact]
    public void Should_maximise_accuracy_and_refuse_a_metric_of_unknown_direction()
    {
        using var model = Model();
        // val_accuracy = 1 - val_loss: 0.0, 0.1 improve, 0.05 does not.
        Assert.Equal(2, StopsAfter(new EarlyStopping("val_accuracy", patience: 1), model, 1.0, 0.9, 0.95, 0.5));
        using var max = Model();
        Assert.Equal(2, StopsAfter(new EarlyStopping("val_loss", patience: 1, mode: "max"), max, 1.0, 1.1, 1.05));
        using var unknown = Model();
        var error = Assert.Throws<ArgumentException>(() => StopsAfter(new EarlyStopping("val_auc"), unknown, 1.0));
        Assert.Contains("monitor=val_auc, but Keras isn't able to automatically determine", error.Message);
    }

    // get_monitor_value warns (warnings.warn) and on_epoch_end returns when the value is missing: no stop, no error.
    [Fact]
    public void Should_warn_instead_of_failing_when_the_monitored_value_is_missing()
    {
        using var model = Model();
        var stderr = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            Assert.Equal(-1, StopsAfter(new EarlyStopping("val_precision", mode: "max"), model, 1.0, 2.0));
        }
        finally
        {
            Console.SetError(stderr);
        }
        Assert.Contains("Early stopping conditioned on metric `val_precision` which is not available. Available metrics are: loss,val_loss,val_accuracy", captured.ToString());
    }

    // on_train_end: `if self.restore_best_weights and self.best_weights is not None: self.model.set_weights(...)`,
    // whether or not training stopped early.
    [Fact]
    public void Should_restore_the_best_weights_at_the_end_even_without_an_early_stop()
    {
        using var model = Model();
        var stopper = new EarlyStopping(patience: 5, restoreBestWeights: true) { Model = model };
        stopper.OnTrainBegin();
        var weightsAt = new List<float[][]>();
        double[] losses = [1.0, 0.5, 0.7];
        for (int epoch = 0; epoch < losses.Length; epoch++)
        {
            foreach (var w in model.Weights) w.Value[0] = epoch; // the "training" of this epoch
            weightsAt.Add(model.GetWeights());
            stopper.OnEpochEnd(epoch, new Dictionary<string, double> { ["val_loss"] = losses[epoch] });
        }
        Assert.False(model.StopTraining);
        stopper.OnTrainEnd(new Dictionary<string, double>());
        Assert.Equal(1, stopper.BestEpoch);
        Assert.Equal(weightsAt[1][0], model.GetWeights()[0]);
    }

    // model_checkpoint.py, _get_file_path: `self.filepath.format(epoch=epoch + 1, **logs)`; Python's format specs.
    [Fact]
    public void Should_name_checkpoints_with_python_format_specs_and_save_only_improvements()
    {
        using var folder = new TempFolder();
        using var model = Model();
        var checkpoint = new ModelCheckpoint(Path.Combine(folder.Path, "ckpt-{epoch:02d}-{val_loss:.2f}.keras"), saveBestOnly: true);
        StopsAfter(checkpoint, model, 1.0, 0.9512, 0.97, 0.5);
        Assert.Equal(["ckpt-01-1.00.keras", "ckpt-02-0.95.keras", "ckpt-04-0.50.keras"], checkpoint.Saved.Select(Path.GetFileName));
        Assert.All(checkpoint.Saved, path => Assert.True(File.Exists(path)));

        // mode "max" on val_accuracy (1 - val_loss here): 0.0, 0.1, 0.05 → saves after epochs 1 and 2 only.
        var best = new ModelCheckpoint(Path.Combine(folder.Path, "acc-{epoch}-{val_accuracy:.1%}.keras"), monitor: "val_accuracy", saveBestOnly: true);
        StopsAfter(best, model, 1.0, 0.9, 0.95);
        Assert.Equal(["acc-1-0.0%.keras", "acc-2-10.0%.keras"], best.Saved.Select(Path.GetFileName));
    }

    // _should_save_on_batch: counts batches (`batch + 1` at the first, then the difference) and saves when the count
    // reaches save_freq; _get_file_path adds `batch=batch + 1`.
    [Fact]
    public void Should_save_every_n_batches_with_save_freq()
    {
        using var folder = new TempFolder();
        using var model = Model();
        var checkpoint = new ModelCheckpoint(Path.Combine(folder.Path, "e{epoch}-b{batch}.keras"), saveFreq: 2) { Model = model };
        checkpoint.OnTrainBegin();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            checkpoint.OnEpochBegin(epoch);
            for (int batch = 0; batch < 3; batch++) checkpoint.OnTrainBatchEnd(batch, new Dictionary<string, double> { ["loss"] = 1 });
            checkpoint.OnEpochEnd(epoch, new Dictionary<string, double> { ["loss"] = 1 });
        }
        // Epoch 0: batches 1, 2 (save b2), 3; epoch 1 restarts at batch 0: counts 1 (total 2: save b1), then 2, 3 (save b3).
        Assert.Equal(["e1-b2.keras", "e2-b1.keras", "e2-b3.keras"], checkpoint.Saved.Select(Path.GetFileName));
    }

    // csv_logger.py, on_epoch_end: keys sorted; `val_` keys added when the first epoch has none; missing values "NA";
    // rows by csv.DictWriter (excel dialect: "\r\n", the separator as delimiter); values as Python floats.
    // on_train_begin with append: the header only if the file is empty or new.
    [Fact]
    public void Should_log_csv_as_keras_with_na_separator_and_append()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "log.csv");
        using var model = Model();
        void Train(CSVLogger logger, params double[] losses)
        {
            logger.Model = model;
            logger.OnTrainBegin();
            for (int epoch = 0; epoch < losses.Length; epoch++)
                logger.OnEpochEnd(epoch, new Dictionary<string, double> { ["loss"] = losses[epoch], ["accuracy"] = 0.5 });
        }
        Train(new CSVLogger(path), 0.00001, 2.309027671813965);
        Assert.Equal("epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.5,1e-05,NA,NA\r\n1,0.5,2.309027671813965,NA,NA\r\n", File.ReadAllText(path));

        Train(new CSVLogger(path, separator: ";", append: true), 100.0);
        Assert.EndsWith("1,0.5,2.309027671813965,NA,NA\r\n0;0.5;100.0;NA;NA\r\n", File.ReadAllText(path));
    }

    // compile_utils.py, get_metric: `metric_name = identifier` for a string: "acc" is logged as "acc".
    [Fact]
    public void Should_log_a_metric_under_the_name_it_was_given()
    {
        var model = new Sequential(seed: 1, [4], [new Dense(3, "softmax")]);
        model.Compile(new Adam(0.001), metrics: ["acc"]);
        var x = new float[8 * 4];
        var y = new int[8];
        var history = model.Fit(x, y, epochs: 1, batchSize: 4, validationData: (x, y), verbose: 0);
        Assert.Equal(["acc", "loss", "val_acc", "val_loss"], history.Values.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["acc", "loss"], model.Evaluate(x, y).Keys.Order(StringComparer.Ordinal));
    }

    // Python 3: f"{3:02d}", f"{0.9512:.2f}", f"{0.00051:.4e}", f"{1.23456:>8.3f}", f"{0.1234:+.1%}", f"{1.234e-05:g}",
    // f"{123456789.0:g}", f"{0.5}", f"{1234567:,}", f"{-2:05d}", f"{7:^5}", "{{x}}", repr() of floats.
    [Theory]
    [InlineData("{v:02d}", 3, "03")]
    [InlineData("{v:.2f}", 0.9512, "0.95")]
    [InlineData("{v:.4e}", 0.00051, "5.1000e-04")]
    [InlineData("{v:>8.3f}", 1.23456, "   1.235")]
    [InlineData("{v:+.1%}", 0.1234, "+12.3%")]
    [InlineData("{v:g}", 1.234e-05, "1.234e-05")]
    [InlineData("{v:g}", 123456789.0, "1.23457e+08")]
    [InlineData("{v:g}", 0.5, "0.5")]
    [InlineData("{v}", 0.5, "0.5")]
    [InlineData("{v}", 1e-05, "1e-05")]
    [InlineData("{v}", 100.0, "100.0")]
    [InlineData("{v}", 1e16, "1e+16")]
    [InlineData("{v}", 0.00051, "0.00051")]
    [InlineData("{v:,}", 1234567, "1,234,567")]
    [InlineData("{v:05d}", -2, "-0002")]
    [InlineData("{v:^5}", 7, "  7  ")]
    [InlineData("{{v}}-{v}", 1, "{v}-1")]
    public void Should_format_as_python_does(string template, object value, string expected)
    {
        Assert.Equal(expected, PythonFormat.Format(template, new Dictionary<string, object> { ["v"] = value }));
    }

    [Fact]
    public void Should_refuse_what_python_refuses_in_a_format()
    {
        Assert.Contains("unknown format code 'd' for object of type 'float'",
            Assert.Throws<FormatException>(() => PythonFormat.Format("{v:02d}", new Dictionary<string, object> { ["v"] = 0.5 })).Message);
        Assert.Contains("no value named 'val_loss'",
            Assert.Throws<KeyNotFoundException>(() => PythonFormat.Format("m-{val_loss:.2f}", new Dictionary<string, object> { ["loss"] = 0.5 })).Message);
    }

    // reduce_lr_on_plateau.py, on_epoch_end: logs["learning_rate"] first; in cooldown the counter goes down and wait
    // is 0; an improvement resets wait; otherwise, out of cooldown, wait += 1 and at `wait >= patience` the rate
    // becomes max(old * factor, min_lr) if `old_lr > np.float32(min_lr)`, then cooldown starts. With factor 0.5,
    // patience 1, cooldown 1, min_lr 2e-4, min_delta 0 and val_loss 1.0, 1.0, 1.0, 0.9, 0.95, 0.96: epoch 1 reduces
    // (1e-3 → 5e-4), epoch 2 (cooldown just ended) reduces to 2.5e-4, epoch 3 improves, epoch 4 reduces to the
    // floor 2e-4, epoch 5 cannot go lower.
    [Fact]
    public void Should_reduce_the_learning_rate_on_a_plateau_as_keras_does()
    {
        using var model = Model();
        var reducer = new ReduceLROnPlateau(factor: 0.5, patience: 1, minDelta: 0, cooldown: 1, minLr: 2e-4) { Model = model };
        reducer.OnTrainBegin();
        double[] losses = [1.0, 1.0, 1.0, 0.9, 0.95, 0.96];
        var logged = new List<double>();
        var after = new List<float>();
        for (int epoch = 0; epoch < losses.Length; epoch++)
        {
            var logs = new Dictionary<string, double> { ["val_loss"] = losses[epoch] };
            reducer.OnEpochEnd(epoch, logs);
            logged.Add(logs["learning_rate"]);
            after.Add((float)model.Optimizer!.LearningRate);
        }
        float lr = 0.001f, half = (float)(lr * 0.5), quarter = (float)((double)half * 0.5), floor = 2e-4f;
        Assert.Equal([lr, half, quarter, quarter, floor, floor], after);
        Assert.Equal([lr, lr, half, quarter, quarter, floor], logged.Select(v => (float)v));
    }

    // learning_rate_scheduler.py: on_epoch_begin sets `schedule(epoch, lr)`; on_epoch_end logs "learning_rate".
    [Fact]
    public void Should_schedule_the_learning_rate_per_epoch_and_log_it()
    {
        using var model = Model();
        var x = new float[8 * 4];
        var y = new int[8];
        var history = model.Fit(x, y, epochs: 4, batchSize: 4, verbose: 0,
            callbacks: [new LearningRateScheduler((epoch, lr) => epoch < 2 ? lr : lr * 0.5)]);
        float lr = 0.001f, half = (float)(lr * 0.5), quarter = (float)((double)half * 0.5);
        Assert.Equal([lr, lr, half, quarter], history["learning_rate"].Select(v => (float)v));
    }

    // terminate_on_nan.py: at a NaN or Inf "loss" on batch end, stop_training (or a RuntimeError with raise_error);
    // Keras's fit loop breaks out of the epoch after that batch and still ends the epoch.
    [Fact]
    public void Should_terminate_on_a_nan_loss_after_that_batch()
    {
        using var model = Model();
        var x = Enumerable.Repeat(float.NaN, 16 * 4).ToArray();
        var y = new int[16];
        int batches = 0;
        var counter = new LambdaCallback(onBatchEnd: (_, _) => batches++);
        var stdout = Console.Out;
        var captured = new StringWriter();
        Console.SetOut(captured);
        History history;
        try
        {
            history = model.Fit(x, y, epochs: 3, batchSize: 4, verbose: 0, callbacks: [counter, new TerminateOnNaN()]);
        }
        finally
        {
            Console.SetOut(stdout);
        }
        Assert.Equal(1, batches);
        Assert.Single(history.Epochs);
        Assert.Contains("Batch 0: Invalid loss, terminating training", captured.ToString());

        using var again = Model();
        var error = Assert.Throws<InvalidOperationException>(() => again.Fit(x, y, epochs: 1, batchSize: 4, verbose: 0, callbacks: [new TerminateOnNaN(raiseError: true)]));
        Assert.Equal("NaN or Inf loss encountered at batch 0. Loss value: nan. Terminating training immediately.", error.Message);
    }

    [Fact]
    public void Should_call_each_lambda_at_its_hook()
    {
        using var model = Model();
        var calls = new List<string>();
        var callback = new LambdaCallback(
            onEpochEnd: (e, logs) => calls.Add($"end {e} {logs.ContainsKey("loss")}"),
            onEpochBegin: e => calls.Add($"begin {e}"),
            onBatchEnd: (b, _) => calls.Add($"batch {b}"),
            onTrainBegin: () => calls.Add("train"),
            onTrainEnd: _ => calls.Add("done"));
        model.Fit(new float[8 * 4], new int[8], epochs: 2, batchSize: 4, verbose: 0, callbacks: [callback]);
        Assert.Equal(["train", "begin 0", "batch 0", "batch 1", "end 0 True", "begin 1", "batch 0", "batch 1", "end 1 True", "done"], calls);
    }

    // train_validation_split: split_at = floor(n * (1 - validation_split)); the last samples validate, before any
    // shuffling; too few to split is a ValueError with Keras's message; validation_data overrides the split.
    [Fact]
    public void Should_hold_out_the_last_samples_with_validation_split()
    {
        var x = Enumerable.Range(0, 10 * 4).Select(i => (float)Math.Sin(i)).ToArray();
        var y = Enumerable.Range(0, 10).Select(i => i % 3).ToArray();
        using var split = Model();
        var history = split.Fit(x, y, epochs: 2, batchSize: 4, verbose: 0, validationSplit: 0.25); // floor(10 x 0.75) = 7 train, 3 validate
        using var explicitly = Model();
        var expected = explicitly.Fit(x[..28], y[..7], epochs: 2, batchSize: 4, verbose: 0, validationData: (x[28..], y[7..]));
        Assert.Equal(expected["val_loss"], history["val_loss"]);
        Assert.Equal(expected["loss"], history["loss"]);

        using var tiny = Model();
        var error = Assert.Throws<ArgumentException>(() => tiny.Fit(x[..4], y[..1], verbose: 0, validationSplit: 0.5));
        Assert.StartsWith("Training data contains 1 samples, which is not sufficient to split it", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => tiny.Fit(x, y, verbose: 0, validationSplit: 1.0));
    }
}
