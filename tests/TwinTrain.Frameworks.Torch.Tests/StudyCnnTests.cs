using TorchSharp;
using TwinTrain.Data;
using TwinTrain.Data.Batching;
using TwinTrain.Frameworks.Torch.Study;
using TwinTrain.Tests.Shared;
using static TorchSharp.torch;

namespace TwinTrain.Frameworks.Torch.Tests;

public class StudyCnnTests
{
    [Fact]
    public void Should_have_the_studys_167562_parameters_in_pytorch_naming()
    {
        using var model = new StudyCnn();
        Assert.Equal(167_562, model.parameters().Sum(p => p.numel()));
        Assert.Equal(
            ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"],
            model.named_parameters().Select(p => p.name).ToArray());
    }

    [Fact]
    public void Should_map_a_batch_of_images_to_ten_logits()
    {
        using var model = new StudyCnn();
        using var x = rand(5, 3, 32, 32);
        using var logits = model.call(x);
        Assert.Equal(new long[] { 5, 10 }, logits.shape);
    }

    [Fact]
    public void Should_report_the_mean_loss_over_samples_not_the_sum_over_batches()
    {
        torch.manual_seed(1);
        using var model = new StudyCnn();
        var set = SharedData.Cifar10.Test.Subset(100);
        var byFifty = TorchTraining.Evaluate(model, new Batches(set, 50, ImageLayout.Nchw));
        var byThirty = TorchTraining.Evaluate(model, new Batches(set, 30, ImageLayout.Nchw));
        Assert.Equal(100, byFifty.Samples);
        Assert.InRange(byFifty.Loss, 2.0, 2.6); // an untrained 10-class model: about ln 10 = 2.30
        Assert.Equal(byFifty.Loss, byThirty.Loss, 5);
        Assert.Equal(byFifty.Accuracy, byThirty.Accuracy);
    }

    [Fact]
    public void Should_not_keep_tensors_alive_from_batch_to_batch()
    {
        torch.manual_seed(2);
        using var model = new StudyCnn();
        using var optimizer = optim.Adam(model.parameters(), lr: 0.001);
        var batches = new Batches(SharedData.Cifar10.Train.Subset(640), 64, ImageLayout.Nchw);
        batches.StartEpoch(0, 0);
        var live = new List<long>();
        TorchTraining.TrainEpoch(model, optimizer, batches, (_, _) => live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount));
        Assert.Equal(10, live.Count);
        // After warm-up (Adam's state appears in the first step), the number of live tensors is flat.
        Assert.All(live.Skip(2), n => Assert.Equal(live[1], n));
    }

    [Fact]
    public void Should_learn_well_above_chance_in_one_epoch_on_real_cifar10()
    {
        torch.manual_seed(0);
        torch.set_num_threads(Environment.ProcessorCount);
        using var model = new StudyCnn();
        using var optimizer = optim.Adam(model.parameters(), lr: 0.001);
        var data = SharedData.Cifar10;
        var train = new Batches(data.Train.Subset(10_000), 64, ImageLayout.Nchw);
        train.StartEpoch(seed: 0, epoch: 0);

        var trained = TorchTraining.TrainEpoch(model, optimizer, train);
        var test = TorchTraining.Evaluate(model, new Batches(data.Test.Subset(1_000), 256, ImageLayout.Nchw));

        Assert.Equal(10_000, trained.Samples);
        Assert.True(test.Accuracy > 0.30, $"test accuracy {test.Accuracy:P1} after one epoch on 10,000 images; expected > 30%");
        Assert.True(trained.Loss < 2.2, $"mean training loss {trained.Loss:F3}");
    }
}
