using System.IO.Compression;
using TorchSharp.PyBridge;
using TwinTrain.Experiment.Models;
using TwinTrain.Tests.Shared;
using TwinTrain.Frameworks.Torch;
using TwinTrain.Frameworks.Torch.Study;
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

    // torch.save (torch/serialization.py, _save, with PyTorchStreamWriter): records stored uncompressed, each one's data
    // 64-byte aligned (what torch.load(mmap=True) maps), tensors saved with requires_grad=False.
    [Fact]
    public void Should_write_a_pytorch_state_dict_as_torch_save_does_with_the_known_values_under_pytorch_names()
    {
        using var folder = new TempFolder();
        string dat = Path.Combine(folder.Path, "known.dat"), path = Path.Combine(folder.Path, "known.pt");
        using (var model = KnownModel()) model.save(dat);
        using (var trained = TrainedModel.Load(dat)) Assert.True(WeightConversion.Convert(trained, ModelFormat.PyTorch, path) < 1e-6);

        byte[] bytes = File.ReadAllBytes(path);
        using (var zip = ZipFile.OpenRead(path))
        {
            Assert.Equal(["archive/byteorder", "archive/data.pkl", "archive/data/0", "archive/data/1", "archive/data/2", "archive/data/3",
                "archive/data/4", "archive/data/5", "archive/data/6", "archive/data/7", "archive/version"], zip.Entries.Select(e => e.FullName).Order());
            foreach (var entry in zip.Entries)
            {
                // Find the local header by name; its data starts after 30 bytes, the name and the extra field.
                int at = IndexOf(bytes, System.Text.Encoding.ASCII.GetBytes(entry.FullName)) - 30;
                Assert.Equal(0x04034b50u, BitConverter.ToUInt32(bytes, at));
                Assert.Equal(0, BitConverter.ToUInt16(bytes, at + 8)); // stored
                int data = at + 30 + BitConverter.ToUInt16(bytes, at + 26) + BitConverter.ToUInt16(bytes, at + 28);
                Assert.True(data % 64 == 0, $"{entry.FullName} starts at {data}");
            }
        }
        // Read back by PyBridge's unpickler, a reader independent of TwinTrain's writer and reader.
        var state = PyTorchUnpickler.UnpickleStateDict(path);
        Assert.Equal(["conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"],
            state.Keys.Cast<string>().Order());
        var fc1 = (Tensor)state["fc1.weight"]!;
        Assert.False(fc1.requires_grad);
        Assert.Equal(64 * 2304, fc1.data<float>().Count);
        Assert.Equal((float)(Math.Sin(1000 * 4 + 123) / 10), fc1.data<float>()[123]);
        Assert.All(TwinTrain.Data.Formats.TorchStateDict.Read(path).Tensors.Values, t => Assert.False(t.RequiresGrad));
    }

    static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

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
        Assert.Contains("error(s) in loading the state_dict for preset 'study': missing key(s) \"conv1.weight\"", error.Message);
        Assert.Contains("unexpected key(s) \"weight\", \"bias\"", error.Message);
    }
}
