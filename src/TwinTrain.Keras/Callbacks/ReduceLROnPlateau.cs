namespace TwinTrain.Keras.Callbacks;

/// <summary>
/// Multiplies the learning rate by <see cref="Factor"/> when the monitored value has not improved for
/// <see cref="Patience"/> epochs, as Keras 3's ReduceLROnPlateau (keras/src/callbacks/reduce_lr_on_plateau.py): no
/// reduction below min_lr, then <see cref="Cooldown"/> epochs in which the count stays at zero; the epoch's learning
/// rate goes into the logs as "learning_rate". The rate is kept as the float32 Keras's variable holds.
/// </summary>
public sealed class ReduceLROnPlateau : MonitorCallback
{
    int _wait, _cooldownCounter;

    public ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, int verbose = 0, string mode = "auto",
        double minDelta = 1e-4, int cooldown = 0, double minLr = 0) : base(monitor, mode, baseline: null, minDelta)
    {
        if (factor >= 1.0) throw new ArgumentException($"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}");
        Factor = factor;
        Patience = patience;
        Verbose = verbose;
        Cooldown = cooldown;
        MinLr = minLr;
    }

    public double Factor { get; }
    public int Patience { get; }
    public int Verbose { get; }
    public int Cooldown { get; }
    public double MinLr { get; }

    public override void OnTrainBegin()
    {
        Best = null;
        _cooldownCounter = 0;
        _wait = 0;
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var optimizer = Model.Optimizer!;
        AddLog(logs, "learning_rate", (float)optimizer.LearningRate);
        double? current = MonitorValue(logs, $"Learning rate reduction is conditioned on metric `{Monitor}` which is not available.");
        if (current is not double value) return;
        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            _wait = 0;
        }
        if (IsImprovement(value, Best))
        {
            Best = value;
            _wait = 0;
        }
        else if (_cooldownCounter == 0 && ++_wait >= Patience)
        {
            // `if old_lr > np.float32(self.min_lr)`: both as float32.
            double old = (float)optimizer.LearningRate;
            if (old > (float)MinLr)
            {
                float reduced = (float)Math.Max(old * Factor, MinLr);
                optimizer.LearningRate = reduced;
                if (Verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {Utils.PythonFormat.Repr(Math.Max(old * Factor, MinLr))}.");
                _cooldownCounter = Cooldown;
                _wait = 0;
            }
        }
    }
}
