namespace TwinTrain.Keras.Callbacks;

/// <summary>
/// What EarlyStopping and ModelCheckpoint share, as Keras 3's MonitorCallback (keras/src/callbacks/monitor_callback.py):
/// a monitored log, a mode ("auto", "min", "max"; "auto" minimises a loss and maximises an accuracy metric, and any
/// other name needs a mode), and an improvement test with min_delta.
/// </summary>
public abstract class MonitorCallback : Callback
{
    protected MonitorCallback(string monitor, string mode, double? baseline, double minDelta)
    {
        if (mode is not ("auto" or "min" or "max"))
        {
            Warn($"{GetType().Name} mode '{mode}' is unknown, fallback to auto mode.");
            mode = "auto";
        }
        Monitor = monitor;
        Mode = mode;
        Best = baseline;
        MinDelta = Math.Abs(minDelta);
    }

    public string Monitor { get; }
    public string Mode { get; }
    public double MinDelta { get; }

    /// <summary>The best value seen (or the baseline before any), null before the first.</summary>
    public double? Best { get; protected set; }

    bool? _minimise;

    /// <summary>Whether the monitored value should go down; decided when the model's metrics are known.</summary>
    protected bool Minimise => _minimise ??= Mode switch
    {
        "min" => true,
        "max" => false,
        _ => Monitor.StartsWith("val_", StringComparison.Ordinal) ? Direction(Monitor[4..]) : Direction(Monitor),
    };

    bool Direction(string metric) =>
        metric == "loss" ? true
        : Model.Metrics.Contains(metric) ? false // every metric this framework has is an accuracy: "up"
        : throw new ArgumentException($"{GetType().Name} callback received monitor={Monitor}, but Keras isn't able to automatically determine " +
            "whether that metric should be maximized or minimized. Pass mode='max' in order to monitor based on the highest metric value, " +
            "or pass mode='min' in order to use the lowest value.");

    /// <summary>Keras's _is_improvement: better than the reference by more than min_delta; anything beats no reference.</summary>
    protected bool IsImprovement(double value, double? reference) =>
        reference is not double r || (Minimise ? value - -MinDelta < r : value - MinDelta > r);

    /// <summary>
    /// The monitored log, or null with Keras's warning when it is not there. The direction is settled first, as Keras's
    /// on_epoch_end calls _set_monitor_op before reading the value: a name of unknown direction fails even when absent.
    /// </summary>
    protected double? MonitorValue(IReadOnlyDictionary<string, double> logs, string warning)
    {
        _ = Minimise;
        if (logs.TryGetValue(Monitor, out double value)) return value;
        Warn(warning + $" Available metrics are: {string.Join(",", logs.Keys)}");
        return null;
    }

    /// <summary>Where Python's warnings.warn would print: standard error.</summary>
    protected static void Warn(string message) => Console.Error.WriteLine($"UserWarning: {message}");
}
