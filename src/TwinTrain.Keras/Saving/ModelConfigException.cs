namespace TwinTrain.Keras.Saving;

/// <summary>A model config that this framework cannot build as written: the message names the layer and the problem.</summary>
public sealed class ModelConfigException(string message) : Exception(message);
