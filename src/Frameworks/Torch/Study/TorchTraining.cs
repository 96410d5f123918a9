using TorchSharp;
using TwinTrain.Data.Batching;
using static TorchSharp.torch;

namespace TwinTrain.Frameworks.Torch.Study;

/// <summary>Loss and accuracy over the samples seen so far (means over samples, not sums over batches).</summary>
public readonly record struct Running(double LossSum, long Correct, long Samples)
{
    public double Loss => Samples == 0 ? double.NaN : LossSum / Samples;
    public double Accuracy => Samples == 0 ? double.NaN : (double)Correct / Samples;
    public Running Add(double meanLoss, long correct, int count) => new(LossSum + meanLoss * count, Correct + correct, Samples + count);
}

/// <summary>
/// The hand-written PyTorch training loop: one dispose scope per batch so no tensor outlives its batch,
/// and evaluation under no_grad.
/// </summary>
public static class TorchTraining
{
    /// <summary>Trains one epoch over <paramref name="batches"/> (already ordered for the epoch).</summary>
    public static Running TrainEpoch(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, Batches batches,
        Action<int, Running>? afterBatch = null, CancellationToken stop = default)
    {
        using var lossFunction = nn.CrossEntropyLoss();
        model.train();
        var running = new Running();
        for (int b = 0; b < batches.BatchCount && !stop.IsCancellationRequested; b++)
        {
            using var scope = NewDisposeScope();
            var batch = batches.Load(b);
            var (x, y) = ToTensors(batch);

            optimizer.zero_grad();
            var logits = model.call(x);
            var loss = lossFunction.call(logits, y);
            loss.backward();
            optimizer.step();

            running = running.Add(loss.item<float>(), logits.argmax(1).eq(y).sum().item<long>(), batch.Count);
            afterBatch?.Invoke(b + 1, running);
        }
        return running;
    }

    /// <summary>Mean loss and accuracy over every sample of <paramref name="batches"/>, without gradients (or under inference_mode).</summary>
    public static Running Evaluate(nn.Module<Tensor, Tensor> model, Batches batches, bool inferenceMode = false)
    {
        using var lossFunction = nn.CrossEntropyLoss();
        using var noGrad = inferenceMode ? inference_mode() : no_grad();
        model.eval();
        batches.StartEpoch(seed: 0, epoch: 0, shuffle: false);
        var running = new Running();
        for (int b = 0; b < batches.BatchCount; b++)
        {
            using var scope = NewDisposeScope();
            var batch = batches.Load(b);
            var (x, y) = ToTensors(batch);
            var logits = model.call(x);
            running = running.Add(lossFunction.call(logits, y).item<float>(), logits.argmax(1).eq(y).sum().item<long>(), batch.Count);
        }
        return running;
    }

    /// <summary>
    /// The batch as an NCHW float tensor and a label tensor (views of the reused batch buffers). NHWC batches become
    /// channels_last tensors: NCHW in shape, NHWC in memory, which is what x.to(memory_format=torch.channels_last) gives.
    /// </summary>
    public static (Tensor X, Tensor Y) ToTensors(BatchBuffer batch)
    {
        var (h, w, c) = (batch.Shape.Height, batch.Shape.Width, batch.Shape.Channels);
        var x = (batch.Layout == ImageLayout.Nhwc
            ? tensor(batch.Inputs, [batch.Capacity, h, w, c]).permute(0, 3, 1, 2)
            : tensor(batch.Inputs, [batch.Capacity, c, h, w])).narrow(0, 0, batch.Count);
        var y = tensor(batch.Labels, [batch.Capacity]).narrow(0, 0, batch.Count);
        return (x, y);
    }
}
