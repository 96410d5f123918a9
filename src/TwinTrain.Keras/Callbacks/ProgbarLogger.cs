using TwinTrain.Keras.Utils;

namespace TwinTrain.Keras.Callbacks;

/// <summary>Prints "Epoch i/n" (for n above 1) and Keras's progress bar; verbose 1 redraws live on a terminal, 2 prints one line per epoch.</summary>
public sealed class ProgbarLogger(TextWriter output, int verbose, int steps, int epochs) : Callback
{
    Progbar? _bar;
    int _seen;

    public override void OnEpochBegin(int epoch)
    {
        // As Keras (keras/src/callbacks/progbar_logger.py, on_epoch_begin): the epoch line only when there is more than one.
        if (epochs > 1) output.WriteLine($"Epoch {epoch + 1}/{epochs}");
        _bar = new Progbar(output, steps, live: verbose == 1 && !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out), verbose);
        _seen = 0;
    }

    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        _seen = batch + 1;
        _bar?.Update(_seen, logs);
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => _bar?.Finish(_seen, logs);
}
