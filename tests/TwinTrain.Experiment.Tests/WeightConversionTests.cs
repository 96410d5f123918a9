using System.IO.Compression;
using TorchSharp.PyBridge;
using TwinTrain.Experiment.Models;
using TwinTrain.Tests.Shared;
using TwinTrain.Torch;
using static TorchSharp.torch;

namespace TwinTrain.Experiment.Tests;

public class WeightConversionTests
{
    /// <summary>A study CNN whose every parameter value is known: value j of parameter i is sin(1000 i + j) / 10.</summary>
    static StudyCnn KnownModel()
    {
        var model = new StudyCnn();
        using var noGrad = no_grad();
        int i = 0;
        foreach (var p in model.parameters())
        {
            var values = Enumerable.Range(0, (int)p.numel()).Select(j => (float)(Math.Sin(1000 * i + j) / 10)).ToArray();
            p.copy_(tensor(values, p.shape));
            i++;
        }
        return model;
    }

    [Fact]
    public void Should_write_a_pytorch_state_dict_with_the_known_values_under_pytorch_names()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "known.pt");
        using (var model = KnownModel()) model.save_py(path);

        // The file is PyTorch's zip format, with the pickled dict torch.load reads.
        using (var zip = ZipFile.OpenRead(path))
            Assert.Contains(zip.Entries, e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal));
        var state = PyTorchUnpickler.UnpickleStateDict(path);
        Assert.Equal(["conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"],
            state.Keys.Cast<string>().Order());
        var fc1 = ((Tensor)state["fc1.weight"]!).data<float>().ToArray();
        Assert.Equal(64 * 2304, fc1.Length);
        Assert.Equal((float)(Math.Sin(1000 * 4 + 123) / 10), fc1[123]);
    }

    [Fact]
    public void Should_load_a_pytorch_state_dict_and_convert_it_to_keras_and_back_without_changing_outputs()
    {
        using var folder = new TempFolder();
        string pt = Path.Combine(folder.Path, "known.pt");
        using (var model = KnownModel()) model.save_py(pt);

        using var fromPyTorch = TrainedModel.Load(pt);
        Assert.Equal("torch", fromPyTorch.Framework);
        string keras = Path.Combine(folder.Path, "model.zip");
        Assert.True(WeightConversion.Convert(fromPyTorch, ModelFormat.Keras, keras) < 1e-5);
        using var asKeras = TrainedModel.Load(keras);
        string back = Path.Combine(folder.Path, "back.pt");
        Assert.True(WeightConversion.Convert(asKeras, ModelFormat.PyTorch, back) < 1e-5);

        var test = SharedData.Cifar10.Test.Subset(200);
        var original = fromPyTorch.Probabilities(test);
        using var roundTrip = TrainedModel.Load(back);
        var final = roundTrip.Probabilities(test);
        Assert.True(original.Zip(final, (a, b) => Math.Abs(a - b)).Max() < 1e-5);
        Assert.Equal(original.Chunk(10).Select(r => ClassScores.ArgMax(r)), final.Chunk(10).Select(r => ClassScores.ArgMax(r)));
    }

    [Fact]
    public void Should_reject_a_state_dict_of_another_network()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "other.pt");
        using (var other = nn.Linear(3, 2)) other.save_py(path);
        var error = Assert.Throws<InvalidDataException>(() => TrainedModel.Load(path));
        Assert.Contains("other.pt", error.Message);
        Assert.Contains("cannot load the PyTorch state_dict", error.Message);
    }
}
