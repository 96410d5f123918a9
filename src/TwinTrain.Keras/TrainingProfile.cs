namespace TwinTrain.Keras;

/// <summary>
/// A training step's time by part, measured by <see cref="Sequential.ProfileTraining"/>, in seconds per step: each
/// layer's passes; the loss and its gradient; the optimizer's pass (the workers' gradients summed, then the update);
/// the layers' derived weight copies refreshed (transposed and Winograd-transformed kernels); BatchNormalization's
/// whole-batch sums combined between the passes. What is left of the step is mostly the workers waiting, for each
/// other at the end of a pass and to be woken for the next, and the batch copied into the engine before each step.
/// </summary>
public sealed record TrainingProfile(IReadOnlyList<LayerTiming> Layers, double StepSeconds, double LossSeconds, double OptimizerSeconds,
    double RefreshSeconds, double CombineSeconds)
{
    public double WaitSeconds => StepSeconds - Layers.Sum(l => l.ForwardSeconds + l.BackwardSeconds) - LossSeconds - OptimizerSeconds - RefreshSeconds - CombineSeconds;
}
