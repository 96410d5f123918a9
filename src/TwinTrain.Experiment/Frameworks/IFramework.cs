using TwinTrain.Data;

namespace TwinTrain.Experiment.Frameworks;

/// <summary>Mean loss and accuracy over a number of samples.</summary>
public readonly record struct Metrics(double Loss, double Accuracy, long Samples);

/// <summary>
/// One setting a framework actually ran with, read from its objects after they were built (not from prose): Scope is
/// "(model)" or a Keras layer name, so the two frameworks' settings line up row by row in the report.
/// </summary>
public sealed record FrameworkSetting(string Scope, string Setting, string Value);

/// <summary>Called after each training step with the step number (from 1) and the running means so far.</summary>
public delegate void StepCallback(int step, Metrics running);

/// <summary>
/// What the experiment needs from a deep-learning framework that trains the study's CNN. Each implementation
/// lives beside its framework and keeps the framework's own idioms inside.
/// </summary>
public interface IFramework : IDisposable
{
    /// <summary>Short name used on the command line: "keras", "torch" or "pytorch".</summary>
    string Name { get; }

    /// <summary>Library versions worth recording (e.g. TorchSharp and libtorch).</summary>
    IReadOnlyDictionary<string, string> Versions { get; }

    long ParameterCount { get; }

    /// <summary>Initialisers, optimizer constants, loss input, normalisation constants and data layout, as built.</summary>
    IReadOnlyList<FrameworkSetting> Settings { get; }

    int StepsPerEpoch { get; }

    /// <summary>The trainable weights' values in the Keras model's order and layout, so the two frameworks' weights compare element by element.</summary>
    float[][] TrainableWeightsInKerasLayout();

    /// <summary>Trains one epoch in the order given by (seed, epoch). Stops after the current step when asked.</summary>
    Metrics TrainEpoch(int epoch, StepCallback? afterStep, CancellationToken stop);

    Metrics Evaluate(ImageSet set);

    /// <summary>The predicted class of every image of the set (for confusion matrices).</summary>
    int[] PredictClasses(ImageSet set);

    /// <summary>
    /// Writes the weights and the optimizer's state into <paramref name="folder"/> (a checkpoint folder being written,
    /// renamed into place once complete) and returns the model file's name.
    /// </summary>
    string SaveCheckpoint(string folder);

    /// <summary>Restores weights and optimizer state written by <see cref="SaveCheckpoint"/>, to continue training.</summary>
    void LoadCheckpoint(string folder);

    /// <summary>
    /// The run's peak resident memory when it is not this process's (a worker process's); null: this process's.
    /// </summary>
    long? PeakMemoryBytes => null;

    /// <summary>
    /// The network as this framework trains it when that differs from the architecture it was given (PyTorch's own
    /// BatchNormalization constants under native defaults); null: the same. Run folders keep this one.
    /// </summary>
    Architectures.Architecture? Network => null;

    /// <summary>The last epoch's training seconds by the framework's own clock where it has one (a worker's); null: TwinTrain's clock.</summary>
    double? LastEpochSeconds => null;
}
