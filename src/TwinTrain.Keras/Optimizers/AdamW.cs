namespace TwinTrain.Keras.Optimizers;

/// <summary>Adam with decoupled weight decay, as Keras 3's AdamW (keras/src/optimizers/adamw.py): weight_decay 0.004 by default.</summary>
public sealed class AdamW : Adam
{
    public AdamW(double learningRate = 0.001, double weightDecay = 0.004, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7, bool amsgrad = false)
        : base(learningRate, beta1, beta2, epsilon, amsgrad)
    {
        WeightDecay = weightDecay;
    }

    public override string Name => "adamw";
}
