namespace TwinTrain.Keras.Callbacks;

/// <summary>A callback made of functions, as Keras 3's LambdaCallback (keras/src/callbacks/lambda_callback.py); each is optional.</summary>
public sealed class LambdaCallback(
    Action<int, IReadOnlyDictionary<string, double>>? onEpochEnd = null,
    Action<int>? onEpochBegin = null,
    Action<int, IReadOnlyDictionary<string, double>>? onBatchEnd = null,
    Action? onTrainBegin = null,
    Action<IReadOnlyDictionary<string, double>>? onTrainEnd = null) : Callback
{
    public override void OnTrainBegin() => onTrainBegin?.Invoke();
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => onTrainEnd?.Invoke(logs);
    public override void OnEpochBegin(int epoch) => onEpochBegin?.Invoke(epoch);
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => onEpochEnd?.Invoke(epoch, logs);
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => onBatchEnd?.Invoke(batch, logs);
}
