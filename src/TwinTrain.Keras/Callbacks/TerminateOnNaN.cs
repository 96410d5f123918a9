namespace TwinTrain.Keras.Callbacks;

/// <summary>
/// Ends training at the first batch whose loss is NaN or infinite, as Keras 3's TerminateOnNaN
/// (keras/src/callbacks/terminate_on_nan.py): with raiseError an exception, otherwise a message and a stop after that
/// batch (the epoch's validation and end still run, as in Keras's fit loop).
/// </summary>
public sealed class TerminateOnNaN(bool raiseError = false) : Callback
{
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (!logs.TryGetValue("loss", out double loss) || double.IsFinite(loss)) return;
        string value = Utils.PythonFormat.Repr(loss);
        if (raiseError) throw new InvalidOperationException($"NaN or Inf loss encountered at batch {batch}. Loss value: {value}. Terminating training immediately.");
        Console.WriteLine($"Batch {batch}: Invalid loss, terminating training");
        Model.StopTraining = true;
    }
}
