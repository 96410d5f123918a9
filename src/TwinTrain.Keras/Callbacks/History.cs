namespace TwinTrain.Keras.Callbacks;

/// <summary>What Fit returns: per-epoch values of every metric (Keras's history.history), and the epochs run.</summary>
public sealed class History : Callback
{
    public List<int> Epochs { get; } = [];
    public Dictionary<string, List<double>> Values { get; } = [];

    public IReadOnlyList<double> this[string metric] =>
        Values.TryGetValue(metric, out var values) ? values : throw new KeyNotFoundException($"No metric '{metric}' in the history.");

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        Epochs.Add(epoch);
        foreach (var (name, value) in logs)
        {
            if (!Values.TryGetValue(name, out var list)) Values[name] = list = [];
            list.Add(value);
        }
    }
}
