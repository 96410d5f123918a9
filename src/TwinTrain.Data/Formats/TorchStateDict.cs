using System.IO.Compression;
using System.IO.Hashing;

namespace TwinTrain.Data.Formats;

/// <summary>
/// One tensor of a PyTorch file as stored: its element type, shape, strides and offset into a storage that other
/// tensors may share, so views (non-contiguous, or several tensors in one storage) read exactly as torch.load reads them.
/// </summary>
public sealed class StoredTensor
{
    internal StoredTensor(string name, string dtype, long[] shape, long[] stride, long offset, byte[] storage, string location, bool requiresGrad = false)
    {
        RequiresGrad = requiresGrad;
        Name = name;
        DType = dtype;
        Shape = shape;
        Stride = stride;
        Offset = offset;
        _storage = storage;
        _location = location;
        long elements = storage.Length / ElementSize;
        // The largest element the view touches must lie inside its storage.
        long last = offset + shape.Zip(stride, (n, s) => n == 0 ? 0 : (n - 1) * s).Sum();
        if (shape.Any(n => n < 0) || stride.Any(s => s < 0) || offset < 0 || (Count > 0 && last >= elements))
            throw new DataFormatException($"{location}: tensor '{name}' reaches outside its storage (shape [{string.Join(", ", shape)}], strides [{string.Join(", ", stride)}], offset {offset}, {elements} elements).");
    }

    readonly byte[] _storage;
    readonly string _location;

    public string Name { get; }
    /// <summary>"float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8" or "bool".</summary>
    public string DType { get; }
    public long[] Shape { get; }
    public long[] Stride { get; }
    public long Offset { get; }
    /// <summary>Whether the tensor was saved with requires_grad (a state_dict's tensors are not).</summary>
    public bool RequiresGrad { get; }
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    public bool IsFloatingPoint => DType is "float32" or "float64" or "float16" or "bfloat16";

    int ElementSize => DType switch { "float64" or "int64" => 8, "float32" or "int32" => 4, "float16" or "bfloat16" => 2, _ => 1 };

    /// <summary>The values in row-major order of <see cref="Shape"/>, as float32 (from any floating type).</summary>
    public float[] ToFloat32()
    {
        if (!IsFloatingPoint) throw new DataFormatException($"{_location}: tensor '{Name}' holds {DType}, not floating-point numbers.");
        var values = new float[Count];
        long i = 0;
        foreach (long at in Positions()) values[i++] = ReadFloat(at);
        return values;
    }

    /// <summary>The values in row-major order as int64 (counters such as BatchNorm's num_batches_tracked).</summary>
    public long[] ToInt64()
    {
        var values = new long[Count];
        long i = 0;
        foreach (long at in Positions())
        {
            var bytes = _storage.AsSpan((int)(at * ElementSize), ElementSize);
            values[i++] = DType switch
            {
                "int64" => BitConverter.ToInt64(bytes),
                "int32" => BitConverter.ToInt32(bytes),
                "uint8" or "bool" => bytes[0],
                _ => (long)ReadFloat(at),
            };
        }
        return values;
    }

    float ReadFloat(long at)
    {
        var bytes = _storage.AsSpan((int)(at * ElementSize), ElementSize);
        return DType switch
        {
            "float32" => BitConverter.ToSingle(bytes),
            "float64" => (float)BitConverter.ToDouble(bytes),
            "float16" => (float)BitConverter.ToHalf(bytes),
            _ => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(bytes) << 16), // bfloat16: the high half of a float32
        };
    }

    /// <summary>The storage index of each element, in row-major order of the shape.</summary>
    IEnumerable<long> Positions()
    {
        if (Count == 0) yield break;
        var index = new long[Shape.Length];
        while (true)
        {
            long at = Offset;
            for (int d = 0; d < index.Length; d++) at += index[d] * Stride[d];
            yield return at;
            int dim = index.Length - 1;
            while (dim >= 0 && ++index[dim] == Shape[dim]) index[dim--] = 0;
            if (dim < 0) yield break;
        }
    }
}

/// <summary>
/// Reads the state_dict of a file torch.save wrote (a zip holding data.pkl and one file per storage), without running
/// anything: the pickle is read by the same safe reader as CIFAR-10's batches. Finds the state_dict inside the common
/// checkpoint dicts ({"model": sd}, {"state_dict": sd}, {"model_state_dict": sd}, ...) and strips DataParallel's
/// "module." prefix, saying so in <see cref="Notes"/>. Every storage's zip CRC-32 is checked.
/// </summary>
public sealed class TorchStateDict
{
    static readonly string[] CheckpointKeys = ["state_dict", "model_state_dict", "model", "net", "network", "module"];
    const long MaxPickleBytes = 64L << 20;

    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }
    public IReadOnlyList<string> Notes { get; }

    TorchStateDict(IReadOnlyDictionary<string, StoredTensor> tensors, IReadOnlyList<string> notes)
    {
        Tensors = tensors;
        Notes = notes;
    }

    public static TorchStateDict Read(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return Read(zip, path);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException($"{path}: not a PyTorch file written by torch.save ({e.Message}).", e);
        }
    }

    static TorchStateDict Read(ZipArchive zip, string path)
    {
        var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
            ?? throw new DataFormatException($"{path}: not a PyTorch file written by torch.save (no data.pkl in it).");
        string prefix = pickle.FullName[..^"data.pkl".Length];
        var root = Unpickler.Load(ReadEntry(pickle, path, MaxPickleBytes), path, "PyTorch state_dict");
        var notes = new List<string>();
        if (root is not Dictionary<object, object?> dict) throw new DataFormatException($"{path}: the file holds {Describe(root)}, not a state_dict.");

        if (!dict.Values.Any(IsTensor))
        {
            // A checkpoint dict: the model's state_dict under one of the usual keys.
            var inner = CheckpointKeys.FirstOrDefault(k => dict.TryGetValue(k, out var v) && v is Dictionary<object, object?> d && d.Values.Any(IsTensor));
            if (inner is null)
                throw new DataFormatException($"{path}: holds no state_dict (keys: {string.Join(", ", dict.Keys.Select(k => $"'{k}'"))}); save model.state_dict(), or a dict with it under 'state_dict' or 'model'.");
            notes.Add($"{path}: read the state_dict under '{inner}' of the checkpoint (other keys: {string.Join(", ", dict.Keys.Where(k => !Equals(k, inner)).Select(k => $"'{k}'"))}).");
            dict = (Dictionary<object, object?>)dict[inner]!;
        }

        var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var tensors = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
        foreach (var (key, value) in dict)
        {
            if (key is not string name) throw new DataFormatException($"{path}: a state_dict key is {Describe(key)}, not a name.");
            if (!IsTensor(value)) throw new DataFormatException($"{path}: '{name}' is {Describe(value)}, not a tensor.");
            tensors[name] = Tensor(name, (PickleCall)value!, zip, prefix, storages, path);
        }
        if (tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith("module.", StringComparison.Ordinal)))
        {
            notes.Add($"{path}: removed the 'module.' prefix (DataParallel) from every key.");
            tensors = tensors.ToDictionary(t => t.Key["module.".Length..], t => t.Value, StringComparer.Ordinal);
        }
        return new TorchStateDict(tensors, notes);
    }

    static bool IsTensor(object? value) => value is PickleCall { Callable: { Module: "torch._utils", Name: "_rebuild_tensor_v2" or "_rebuild_parameter" } };

    static StoredTensor Tensor(string name, PickleCall call, ZipArchive zip, string prefix, Dictionary<string, byte[]> storages, string path)
    {
        // nn.Parameter(tensor, requires_grad, hooks): the tensor inside.
        if (call.Callable.Name == "_rebuild_parameter") call = call.Args is [PickleCall inner, ..] && IsTensor(inner) ? inner : throw Bad(path, name, "a parameter without a tensor");
        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, ...)
        if (call.Args is not [PicklePersistent { Id: object?[] id }, long offset, object?[] shape, object?[] stride, ..]
            || id is not ["storage", PickleGlobal storageType, string key, ..])
            throw Bad(path, name, "an unreadable tensor record");
        string dtype = storageType.Name switch
        {
            "FloatStorage" => "float32",
            "DoubleStorage" => "float64",
            "HalfStorage" => "float16",
            "BFloat16Storage" => "bfloat16",
            "LongStorage" => "int64",
            "IntStorage" => "int32",
            "ByteStorage" => "uint8",
            "BoolStorage" => "bool",
            var other => throw Bad(path, name, $"storage of type {other}, which this reader does not take"),
        };
        if (!storages.TryGetValue(key, out byte[]? storage))
        {
            var entry = zip.GetEntry($"{prefix}data/{key}") ?? throw Bad(path, name, $"its storage data/{key} is missing from the file");
            storages[key] = storage = ReadEntry(entry, path, int.MaxValue);
        }
        long[] dims = shape.Select(d => d as long? ?? throw Bad(path, name, "a shape that is not whole numbers")).ToArray();
        long[] steps = stride.Select(d => d as long? ?? throw Bad(path, name, "strides that are not whole numbers")).ToArray();
        if (dims.Length != steps.Length) throw Bad(path, name, "as many strides as dimensions");
        return new StoredTensor(name, dtype, dims, steps, offset, storage, path, call.Args.Length > 4 && call.Args[4] is true);
    }

    static DataFormatException Bad(string path, string name, string what) => new($"{path}: tensor '{name}' has {what}.");

    static string Describe(object? value) => value switch
    {
        null => "None",
        PickleCall call => $"an object of {call.Callable}",
        PickleGlobal global => $"the class {global}",
        _ => $"a {value.GetType().Name}",
    };

    /// <summary>An entry's bytes, with its size bounded and its zip CRC-32 checked.</summary>
    static byte[] ReadEntry(ZipArchiveEntry entry, string path, long maxBytes)
    {
        if (entry.Length > maxBytes) throw new DataFormatException($"{path}: '{entry.FullName}' is {entry.Length:N0} bytes, more than it can be here.");
        var bytes = new byte[entry.Length];
        using (var stream = entry.Open()) stream.ReadExactly(bytes);
        if (Crc32.HashToUInt32(bytes) != entry.Crc32)
            throw new DataFormatException($"{path}: '{entry.FullName}' is damaged (its CRC-32 does not match).");
        return bytes;
    }
}
