namespace TwinTrain.Keras.Callbacks;

/// <summary>
/// Hooks into Fit, as Keras's callbacks: logs are the metric values so far ("loss", "accuracy", and after an epoch
/// "val_loss", "val_accuracy"). Set <see cref="Sequential.StopTraining"/> to end training after the current epoch.
/// </summary>
public abstract class Callback
{
    public Sequential Model { get; internal set; } = null!;

    public virtual void OnTrainBegin() { }
    public virtual void OnTrainEnd(IReadOnlyDictionary<string, double> logs) { }
    public virtual void OnEpochBegin(int epoch) { }
    public virtual void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>After each training step; <paramref name="batch"/> counts from 0 within the epoch.</summary>
    public virtual void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>
    /// Adds a value to the logs, as Keras callbacks add to the logs dict (ReduceLROnPlateau's "learning_rate"): the
    /// callbacks after this one, History and the progress bar among them, see it. Fit passes its own mutable logs.
    /// </summary>
    protected static void AddLog(IReadOnlyDictionary<string, double> logs, string name, double value)
    {
        if (logs is IDictionary<string, double> mutable) mutable[name] = value;
    }
}
