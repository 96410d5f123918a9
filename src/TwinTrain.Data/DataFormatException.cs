namespace TwinTrain.Data;

/// <summary>Bad or unreadable input data. The message names the file and what is wrong with it.</summary>
public sealed class DataFormatException(string message, Exception? inner = null) : Exception(message, inner);
