namespace TwinTrain.Keras.Callbacks;

/// <summary>
/// Sets the learning rate at the start of each epoch to schedule(epoch, current rate), as Keras 3's
/// LearningRateScheduler (keras/src/callbacks/learning_rate_scheduler.py); the rate goes into the epoch's logs as
/// "learning_rate".
/// </summary>
public sealed class LearningRateScheduler(Func<int, double, double> schedule, int verbose = 0) : Callback
{
    public override void OnEpochBegin(int epoch)
    {
        var optimizer = Model.Optimizer!;
        double rate = schedule(epoch, (float)optimizer.LearningRate);
        if (!double.IsFinite(rate)) throw new ArgumentException($"The output of the \"schedule\" function should be a float. Got: {rate}");
        optimizer.LearningRate = (float)rate;
        if (verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {Utils.PythonFormat.Repr(rate)}.");
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) =>
        AddLog(logs, "learning_rate", (float)Model.Optimizer!.LearningRate);
}
