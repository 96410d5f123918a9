namespace TwinTrain.Keras.Callbacks;

/// <summary>
/// Stops training when the monitored value has stopped improving, as Keras 3's EarlyStopping
/// (keras/src/callbacks/early_stopping.py): each epoch counts against the patience unless it improves on the best
/// (and on the baseline, when given) by more than min_delta; training stops once the count reaches the patience
/// (wait &gt;= patience, never after the first epoch). Epochs before start_from_epoch are not looked at. With
/// restore_best_weights the best epoch's weights are put back at the end of training, stopped early or not.
/// </summary>
public sealed class EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, string mode = "auto",
    double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0, int verbose = 0)
    : MonitorCallback(monitor, mode, baseline: null, minDelta)
{
    int _wait;
    float[][]? _bestWeights;

    public int Patience { get; } = patience;
    public double? Baseline { get; } = baseline;
    public bool RestoreBestWeights { get; } = restoreBestWeights;
    public int StartFromEpoch { get; } = startFromEpoch;

    /// <summary>The epoch (from 0) after which training stopped; 0 when it did not stop early (as Keras's stopped_epoch).</summary>
    public int StoppedEpoch { get; private set; }
    public int BestEpoch { get; private set; }

    public override void OnTrainBegin()
    {
        _wait = 0;
        StoppedEpoch = 0;
        Best = null;
        _bestWeights = null;
        BestEpoch = 0;
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double? current = MonitorValue(logs, $"Early stopping conditioned on metric `{Monitor}` which is not available.");
        if (current is not double value || epoch < StartFromEpoch) return;
        if (RestoreBestWeights && _bestWeights is null)
        {
            _bestWeights = Model.GetWeights();
            BestEpoch = epoch;
        }
        _wait++;
        if (IsImprovement(value, Best))
        {
            Best = value;
            BestEpoch = epoch;
            if (RestoreBestWeights) _bestWeights = Model.GetWeights();
            // Only a value that beats the baseline too restarts the count.
            if (Baseline is null || IsImprovement(value, Baseline)) _wait = 0;
            return;
        }
        if (_wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            Model.StopTraining = true;
        }
    }

    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (StoppedEpoch > 0 && verbose > 0) Console.WriteLine($"Epoch {StoppedEpoch + 1}: early stopping");
        if (RestoreBestWeights && _bestWeights is not null)
        {
            if (verbose > 0) Console.WriteLine($"Restoring model weights from the end of the best epoch: {BestEpoch + 1}.");
            Model.SetWeights(_bestWeights);
        }
    }
}
