namespace TwinTrain.Keras.Tests;

/// <summary>Tests that swap Console.Error or Console.Out to read what Keras would print run one at a time, so that none reads another's.</summary>
[CollectionDefinition(Collection)]
public static class ConsoleCapture
{
    public const string Collection = "Console capture";
}
