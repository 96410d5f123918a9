using TwinTrain.Keras;
using TwinTrain.Keras.Callbacks;
using TwinTrain.Keras.Data;
using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Optimizers;

namespace TwinTrain.Frameworks.Keras.Study;

/// <summary>The study's CNN written the way a Keras user writes it: Sequential, compile, fit.</summary>
public static class KerasStudy
{
    public static Sequential CreateModel(int seed, double learningRate, Optimizer? optimizer = null)
    {
        var model = new Sequential(seed,
            new Conv2D(32, (3, 3), activation: "relu", inputShape: (32, 32, 3)),
            new MaxPooling2D((2, 2)),
            new Conv2D(64, (3, 3), activation: "relu"),
            new MaxPooling2D((2, 2)),
            new Flatten(),
            new Dense(64, activation: "relu"),
            new Dense(10, activation: "softmax"));
        model.Compile(optimizer: optimizer ?? new Adam(learningRate), metrics: ["accuracy"]);
        return model;
    }

    /// <summary>One epoch of model.fit (the comparison drives epochs one at a time, to time and checkpoint each).</summary>
    public static History FitEpoch(Sequential model, IDataset train, int epoch, int batchSize, int seed,
        IEnumerable<Callback> callbacks, CancellationToken stop) =>
        model.Fit(train, epochs: epoch + 1, initialEpoch: epoch, batchSize: batchSize, seed: seed,
            callbacks: callbacks, verbose: 0, stop: stop);
}
