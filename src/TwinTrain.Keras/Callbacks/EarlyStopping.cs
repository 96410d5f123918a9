namespace TwinTrain.Keras.Callbacks;

/// <summary>
/// Stops training when <see cref="Monitor"/> has not improved by more than <see cref="MinDelta"/> for
/// <see cref="Patience"/> epochs; optionally restores the weights of the best epoch. Metrics named *loss are
/// minimised, others maximised (Keras's mode "auto").
/// </summary>
public sealed class EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, bool restoreBestWeights = false) : Callback
{
    double _best;
    int _wait;
    float[][]? _bestWeights;

    public string Monitor { get; } = monitor;
    public double MinDelta { get; } = Math.Abs(minDelta);
    public int Patience { get; } = patience;
    public bool RestoreBestWeights { get; } = restoreBestWeights;
    public int StoppedEpoch { get; private set; } = -1;
    public int BestEpoch { get; private set; } = -1;
    bool Minimise => Monitor.EndsWith("loss", StringComparison.Ordinal);

    public override void OnTrainBegin()
    {
        _best = Minimise ? double.PositiveInfinity : double.NegativeInfinity;
        _wait = 0;
        _bestWeights = null;
        StoppedEpoch = BestEpoch = -1;
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!logs.TryGetValue(Monitor, out double current))
            throw new InvalidOperationException($"EarlyStopping monitors '{Monitor}', which is not among the logs ({string.Join(", ", logs.Keys)}).");
        bool improved = Minimise ? current < _best - MinDelta : current > _best + MinDelta;
        if (improved)
        {
            _best = current;
            _wait = 0;
            BestEpoch = epoch;
            if (RestoreBestWeights) _bestWeights = Model.GetWeights();
            return;
        }
        if (++_wait > Patience)
        {
            StoppedEpoch = epoch;
            Model.StopTraining = true;
        }
    }

    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (RestoreBestWeights && StoppedEpoch >= 0 && _bestWeights is not null) Model.SetWeights(_bestWeights);
    }
}
