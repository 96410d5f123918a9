namespace TwinTrain.Keras.Callbacks;

/// <summary>Saves the model after each epoch, or with <see cref="SaveBestOnly"/> only when <see cref="Monitor"/> improves.</summary>
public sealed class ModelCheckpoint(string path, string monitor = "val_loss", bool saveBestOnly = false) : Callback
{
    double _best = double.NaN;

    public string Path { get; } = path;
    public string Monitor { get; } = monitor;
    public bool SaveBestOnly { get; } = saveBestOnly;
    public int SavedEpochs { get; private set; }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (SaveBestOnly)
        {
            if (!logs.TryGetValue(Monitor, out double current))
                throw new InvalidOperationException($"ModelCheckpoint monitors '{Monitor}', which is not among the logs.");
            bool minimise = Monitor.EndsWith("loss", StringComparison.Ordinal);
            bool improved = double.IsNaN(_best) || (minimise ? current < _best : current > _best);
            if (!improved) return;
            _best = current;
        }
        Model.Save(Path.Replace("{epoch}", (epoch + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        SavedEpochs++;
    }
}
