using TwinTrain.Keras.Utils;

namespace TwinTrain.Keras.Callbacks;

/// <summary>
/// Saves the model as Keras 3's ModelCheckpoint does (keras/src/callbacks/model_checkpoint.py): <see cref="FilePath"/>
/// is a Python format string over the epoch (from 1) and every logged value ("ckpt-{epoch:02d}-{val_loss:.2f}.keras");
/// with save_best_only only when the monitored value improves (mode, initial_value_threshold), and without the
/// monitored value it saves anyway with Keras's warning; save_freq "epoch" or every N batches (then {batch} is the
/// batch from 1); save_weights_only writes .weights.h5 files. As in Keras, a model file must end in .keras, a weights
/// file in .weights.h5 (Keras's legacy .h5 model format is not written here).
/// </summary>
public sealed class ModelCheckpoint : MonitorCallback
{
    int _batchesSinceSave;
    int? _lastBatch;
    int _epoch;

    public ModelCheckpoint(string filePath, string monitor = "val_loss", bool saveBestOnly = false, string mode = "auto",
        string saveFreq = "epoch", double? initialValueThreshold = null, int verbose = 0, bool saveWeightsOnly = false)
        : base(monitor, mode, initialValueThreshold, minDelta: 0)
    {
        if (saveWeightsOnly && !filePath.EndsWith(".weights.h5", StringComparison.Ordinal))
            throw new ArgumentException($"When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in `.weights.h5` (Keras weights format). Received: filepath={filePath}");
        if (!saveWeightsOnly && !filePath.EndsWith(".keras", StringComparison.Ordinal))
            throw new ArgumentException(filePath.EndsWith(".h5", StringComparison.Ordinal)
                ? $"Keras's legacy .h5 model format is not written here; save as .keras. Received: filepath={filePath}"
                : $"The filepath provided must end in `.keras` (Keras model format). Received: filepath={filePath}");
        FilePath = filePath;
        SaveWeightsOnly = saveWeightsOnly;
        SaveBestOnly = saveBestOnly;
        Verbose = verbose;
        if (saveFreq != "epoch" && !(int.TryParse(saveFreq, out int every) && every > 0))
            throw new ArgumentException($"Unrecognized save_freq: {saveFreq}. Expected save_freq are 'epoch' or integer values");
        SaveEveryBatches = saveFreq == "epoch" ? null : int.Parse(saveFreq, System.Globalization.CultureInfo.InvariantCulture);
    }

    public ModelCheckpoint(string filePath, int saveFreq, string monitor = "val_loss", bool saveBestOnly = false, string mode = "auto")
        : this(filePath, monitor, saveBestOnly, mode, saveFreq.ToString(System.Globalization.CultureInfo.InvariantCulture)) { }

    public string FilePath { get; }
    public bool SaveBestOnly { get; }
    public bool SaveWeightsOnly { get; }
    public int Verbose { get; }
    /// <summary>Null to save at the end of each epoch; else every that many batches.</summary>
    public int? SaveEveryBatches { get; }
    public int SavedCount { get; private set; }
    /// <summary>Every file written, in order.</summary>
    public List<string> Saved { get; } = [];

    public override void OnEpochBegin(int epoch) => _epoch = epoch;

    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (SaveEveryBatches is not int every) return;
        _batchesSinceSave += _lastBatch is int last && batch > last ? batch - last : batch + 1;
        _lastBatch = batch;
        if (_batchesSinceSave < every) return;
        _batchesSinceSave = 0;
        Save(_epoch, batch, logs);
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (SaveBestOnly) _ = Minimise; // Keras settles the direction at each epoch end (_set_monitor_op)
        if (SaveEveryBatches is null) Save(epoch, null, logs);
    }

    void Save(int epoch, int? batch, IReadOnlyDictionary<string, double> logs)
    {
        var values = logs.ToDictionary(l => l.Key, l => (object)l.Value);
        values["epoch"] = epoch + 1;
        if (batch is int b) values["batch"] = b + 1;
        string path = PythonFormat.Format(FilePath, values);
        if (SaveBestOnly)
        {
            if (!logs.TryGetValue(Monitor, out double current))
                Warn($"Can save best model only with {Monitor} available.");
            else
            {
                string best = Best is double value ? PythonFormat.Format("{v:.5f}", new Dictionary<string, object> { ["v"] = value }) : "None";
                if (!IsImprovement(current, Best))
                {
                    if (Verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: {Monitor} did not improve from {best}");
                    return;
                }
                if (Verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: {Monitor} improved from {best} to {current:F5}, saving model to {path}");
                Best = current;
            }
        }
        else if (Verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: saving model to {path}");
        if (Path.GetDirectoryName(path) is { Length: > 0 } folder) Directory.CreateDirectory(folder);
        if (Directory.Exists(path)) throw new IOException($"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: {path}");
        if (SaveWeightsOnly) Model.SaveWeights(path);
        else Model.Save(path);
        Saved.Add(path);
        SavedCount++;
    }
}
