using System.IO.Compression;
using System.Text;
using TwinTrain.Experiment.Models;
using TwinTrain.Tests.Shared;
using TwinTrain.Frameworks.Torch;
using TwinTrain.Frameworks.Torch.Study;

namespace TwinTrain.Experiment.Tests;

/// <summary>
/// PyTorch state_dicts are loaded strictly, as load_state_dict(strict=True): a wrong name or shape is refused naming
/// each, and valid files torch.save writes load whatever their tensors' storage layout. The files are written here
/// byte by byte in torch.save's layout (a zip with archive/data.pkl, a protocol-2 pickle whose tensors are
/// torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, requires_grad, hooks), and archive/data/KEY
/// holding each storage's raw little-endian bytes), independently of any writer in TwinTrain.
/// </summary>
public class StateDictTests
{
    /// <summary>A tensor to write: its values as stored, the storage it lives in, and its view into it.</summary>
    sealed record Entry(string Name, string Storage, long Offset, long[] Shape, long[] Stride, string StorageType = "FloatStorage");

    /// <summary>Writes a .pt: <paramref name="storages"/> by key, the state_dict (optionally inside a checkpoint dict).</summary>
    static void WritePt(string path, IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, byte[]> storages, string? under = null)
    {
        var pickle = new MemoryStream();
        void Op(byte b) => pickle.WriteByte(b);
        void Text(string s) { Op((byte)'X'); var b = Encoding.UTF8.GetBytes(s); pickle.Write(BitConverter.GetBytes(b.Length)); pickle.Write(b); }
        void Int(long v) { Op((byte)'J'); pickle.Write(BitConverter.GetBytes((int)v)); }
        void Global(string module, string name) { Op((byte)'c'); pickle.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n")); }
        void OrderedDict() { Global("collections", "OrderedDict"); Op((byte)')'); Op((byte)'R'); }
        void Tuple(long[] values) { Op((byte)'('); foreach (long v in values) Int(v); Op((byte)'t'); }

        Op(0x80); Op(2);
        if (under is not null) { Op((byte)'}'); Op((byte)'('); Text(under); }
        OrderedDict();
        Op((byte)'(');
        foreach (var e in entries)
        {
            Text(e.Name);
            Global("torch._utils", "_rebuild_tensor_v2");
            Op((byte)'(');
            Op((byte)'('); Text("storage"); Global("torch", e.StorageType); Text(e.Storage); Text("cpu"); Int(storages[e.Storage].Length / (e.StorageType == "DoubleStorage" ? 8 : 4)); Op((byte)'t');
            Op((byte)'Q');
            Int(e.Offset);
            Tuple(e.Shape);
            Tuple(e.Stride);
            Op(0x89); // requires_grad False
            OrderedDict();
            Op((byte)'t');
            Op((byte)'R');
        }
        Op((byte)'u');
        if (under is not null) { Text("epoch"); Int(3); Op((byte)'u'); }
        Op((byte)'.');

        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string name, byte[] bytes) { using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open(); s.Write(bytes); }
        Add("archive/data.pkl", pickle.ToArray());
        foreach (var (key, bytes) in storages) Add($"archive/data/{key}", bytes);
        Add("archive/version", "3\n"u8.ToArray());
    }

    static byte[] Bytes(float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    static long[] Contiguous(long[] shape)
    {
        var stride = new long[shape.Length];
        long step = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { stride[d] = step; step *= shape[d]; }
        return stride;
    }

    /// <summary>A study CNN with its own random weights, by state_dict name: values and shape.</summary>
    static (StudyCnn Model, List<(string Name, float[] Values, long[] Shape)> Weights) Source()
    {
        TorchSharp.torch.manual_seed(5);
        var model = new StudyCnn();
        var weights = model.state_dict().Select(p => (p.Key, p.Value.data<float>().ToArray(), p.Value.shape)).ToList();
        return (model, weights);
    }

    /// <summary>Each tensor in its own contiguous storage, as torch.save writes a plain state_dict.</summary>
    static (List<Entry>, Dictionary<string, byte[]>) Plain(List<(string Name, float[] Values, long[] Shape)> weights, string prefix = "")
    {
        var entries = new List<Entry>();
        var storages = new Dictionary<string, byte[]>();
        for (int i = 0; i < weights.Count; i++)
        {
            var (name, values, shape) = weights[i];
            storages[i.ToString()] = Bytes(values);
            entries.Add(new Entry(prefix + name, i.ToString(), 0, shape, Contiguous(shape)));
        }
        return (entries, storages);
    }

    /// <summary>The file's model gives the same outputs as <paramref name="source"/> saved in TwinTrain's own torch format beside it.</summary>
    static void AssertSameOutputs(StudyCnn source, string path)
    {
        var images = SharedData.Cifar10.Test.Subset(16);
        string reference = Path.ChangeExtension(path, ".reference.dat");
        source.save(reference);
        using var loaded = TrainedModel.Load(path);
        using var expected = TrainedModel.Load(reference);
        Assert.Equal(expected.Outputs(images), loaded.Outputs(images));
    }

    [Fact]
    public void Should_load_a_plain_state_dict_to_the_same_outputs()
    {
        using var folder = new TempFolder();
        var (model, weights) = Source();
        var (entries, storages) = Plain(weights);
        WritePt(folder["plain.pt"], entries, storages);
        AssertSameOutputs(model, folder["plain.pt"]);
    }

    // PyTorch: "size mismatch for fc1.weight: copying a param with shape torch.Size([2304, 64]) from checkpoint, the
    // shape in current model is torch.Size([64, 2304])" (torch/nn/modules/module.py, _load_from_state_dict).
    [Fact]
    public void Should_refuse_a_transposed_weight_naming_both_shapes()
    {
        using var folder = new TempFolder();
        var (_, weights) = Source();
        int fc1 = weights.FindIndex(w => w.Name == "fc1.weight");
        weights[fc1] = (weights[fc1].Name, weights[fc1].Values, [2304, 64]);
        var (entries, storages) = Plain(weights);
        WritePt(folder["transposed.pt"], entries, storages);
        var error = Assert.Throws<InvalidDataException>(() => TrainedModel.Load(folder["transposed.pt"]));
        Assert.Contains("transposed.pt: error(s) in loading the state_dict for preset 'study': size mismatch for fc1.weight: copying a param with shape [2304, 64] from the file, the shape in the model is [64, 2304]", error.Message);
    }

    // PyTorch: 'Missing key(s) in state_dict: "fc2.bias". Unexpected key(s) in state_dict: "head.bias".'
    [Fact]
    public void Should_refuse_missing_and_unexpected_keys_naming_each()
    {
        using var folder = new TempFolder();
        var (_, weights) = Source();
        int fc2 = weights.FindIndex(w => w.Name == "fc2.bias");
        weights[fc2] = ("head.bias", weights[fc2].Values, weights[fc2].Shape);
        var (entries, storages) = Plain(weights);
        WritePt(folder["renamed.pt"], entries, storages);
        var error = Assert.Throws<InvalidDataException>(() => TrainedModel.Load(folder["renamed.pt"]));
        Assert.Contains("missing key(s) \"fc2.bias\"; unexpected key(s) \"head.bias\"", error.Message);
    }

    // What vector_to_parameters leaves: every tensor a view at its offset into one shared storage. And a
    // non-contiguous tensor: fc1.weight stored transposed (2304 x 64) and viewed back with strides [1, 64].
    [Fact]
    public void Should_load_tensors_that_share_one_storage_and_non_contiguous_views()
    {
        using var folder = new TempFolder();
        var (model, weights) = Source();
        var entries = new List<Entry>();
        var all = new List<float>();
        foreach (var (name, values, shape) in weights)
        {
            entries.Add(new Entry(name, "0", all.Count, shape, Contiguous(shape)));
            all.AddRange(values);
        }
        WritePt(folder["shared.pt"], entries, new Dictionary<string, byte[]> { ["0"] = Bytes([.. all]) });
        AssertSameOutputs(model, folder["shared.pt"]);

        var (plain, storages) = Plain(weights);
        int fc1 = weights.FindIndex(w => w.Name == "fc1.weight");
        var w = weights[fc1].Values;
        var transposed = new float[w.Length];
        for (int o = 0; o < 64; o++) for (int i = 0; i < 2304; i++) transposed[i * 64 + o] = w[o * 2304 + i];
        storages[fc1.ToString()] = Bytes(transposed);
        plain[fc1] = plain[fc1] with { Stride = [1, 64] };
        WritePt(folder["strided.pt"], plain, storages);
        AssertSameOutputs(model, folder["strided.pt"]);
    }

    [Fact]
    public void Should_find_the_state_dict_in_a_checkpoint_dict_and_strip_the_dataparallel_prefix_saying_so()
    {
        using var folder = new TempFolder();
        var (model, weights) = Source();
        var (entries, storages) = Plain(weights, prefix: "module.");
        WritePt(folder["checkpoint.pt"], entries, storages, under: "model_state_dict");
        var stderr = Console.Error;
        var notes = new StringWriter();
        Console.SetError(notes);
        try
        {
            AssertSameOutputs(model, folder["checkpoint.pt"]);
        }
        finally
        {
            Console.SetError(stderr);
        }
        Assert.Contains("read the state_dict under 'model_state_dict' of the checkpoint (other keys: 'epoch')", notes.ToString());
        Assert.Contains("removed the 'module.' prefix (DataParallel) from every key", notes.ToString());
    }

    [Fact]
    public void Should_read_float64_storages_and_refuse_a_view_outside_its_storage()
    {
        using var folder = new TempFolder();
        var (model, weights) = Source();
        var (entries, storages) = Plain(weights);
        int conv1 = weights.FindIndex(w => w.Name == "conv1.weight");
        storages[conv1.ToString()] = weights[conv1].Values.SelectMany(v => BitConverter.GetBytes((double)v)).ToArray();
        entries[conv1] = entries[conv1] with { StorageType = "DoubleStorage" };
        WritePt(folder["double.pt"], entries, storages);
        AssertSameOutputs(model, folder["double.pt"]);

        entries[conv1] = entries[conv1] with { Offset = 10 };
        WritePt(folder["outside.pt"], entries, storages);
        var error = Assert.Throws<TwinTrain.Data.DataFormatException>(() => TrainedModel.Load(folder["outside.pt"]));
        Assert.Contains("tensor 'conv1.weight' reaches outside its storage", error.Message);
    }
}
