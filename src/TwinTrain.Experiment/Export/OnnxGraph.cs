using Google.Protobuf;

namespace TwinTrain.Experiment.Export;

/// <summary>
/// Builds an ONNX model (a ModelProto) and encodes it with Google.Protobuf's wire-format writer, field by field as the
/// ONNX schema (onnx.proto) numbers them. Only what the study's networks need: float tensors, a few attribute kinds,
/// one input with a dynamic batch dimension, one output.
/// </summary>
public sealed class OnnxGraph(string name)
{
    public const int Opset = 13;
    const long IrVersion = 7;
    const int FloatType = 1, Int64Type = 7;

    readonly List<byte[]> _nodes = [];
    readonly List<byte[]> _initializers = [];
    int _counter;

    /// <summary>A fresh value name with the given prefix.</summary>
    public string Name(string prefix) => $"{prefix}_{_counter++}";

    public string Initializer(string prefix, float[] values, long[] dims)
    {
        string tensorName = Name(prefix);
        _initializers.Add(Message(w =>
        {
            foreach (long d in dims) { w.WriteTag(1, WireFormat.WireType.Varint); w.WriteInt64(d); }
            w.WriteTag(2, WireFormat.WireType.Varint); w.WriteInt32(FloatType);
            w.WriteTag(8, WireFormat.WireType.LengthDelimited); w.WriteString(tensorName);
            var raw = new byte[values.Length * 4];
            Buffer.BlockCopy(values, 0, raw, 0, raw.Length); // ONNX raw_data is little-endian, as .NET on x64/arm64
            w.WriteTag(9, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(raw));
        }));
        return tensorName;
    }

    public string InitializerInt64(string prefix, long[] values)
    {
        string tensorName = Name(prefix);
        _initializers.Add(Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.Varint); w.WriteInt64(values.Length);
            w.WriteTag(2, WireFormat.WireType.Varint); w.WriteInt32(Int64Type);
            foreach (long v in values) { w.WriteTag(7, WireFormat.WireType.Varint); w.WriteInt64(v); }
            w.WriteTag(8, WireFormat.WireType.LengthDelimited); w.WriteString(tensorName);
        }));
        return tensorName;
    }

    /// <summary>Adds a node; attributes are ints (long), int lists (long[]) or floats; returns its output name.</summary>
    public string Node(string opType, string[] inputs, params (string Name, object Value)[] attributes)
    {
        string output = Name(opType.ToLowerInvariant());
        _nodes.Add(Message(w =>
        {
            foreach (string input in inputs) { w.WriteTag(1, WireFormat.WireType.LengthDelimited); w.WriteString(input); }
            w.WriteTag(2, WireFormat.WireType.LengthDelimited); w.WriteString(output);
            w.WriteTag(3, WireFormat.WireType.LengthDelimited); w.WriteString(output);
            w.WriteTag(4, WireFormat.WireType.LengthDelimited); w.WriteString(opType);
            foreach (var (attributeName, value) in attributes)
            {
                w.WriteTag(5, WireFormat.WireType.LengthDelimited);
                w.WriteBytes(ByteString.CopyFrom(Message(a =>
                {
                    a.WriteTag(1, WireFormat.WireType.LengthDelimited); a.WriteString(attributeName);
                    switch (value)
                    {
                        case long i:
                            a.WriteTag(3, WireFormat.WireType.Varint); a.WriteInt64(i);
                            a.WriteTag(20, WireFormat.WireType.Varint); a.WriteInt32(2);
                            break;
                        case long[] ints:
                            foreach (long i in ints) { a.WriteTag(8, WireFormat.WireType.Varint); a.WriteInt64(i); }
                            a.WriteTag(20, WireFormat.WireType.Varint); a.WriteInt32(7);
                            break;
                        case float f:
                            a.WriteTag(2, WireFormat.WireType.Fixed32); a.WriteFloat(f);
                            a.WriteTag(20, WireFormat.WireType.Varint); a.WriteInt32(1);
                            break;
                        default:
                            throw new ArgumentException($"Unsupported attribute value {value}.");
                    }
                })));
            }
        }));
        return output;
    }

    /// <summary>Encodes the model: graph input <paramref name="input"/> (float, first dimension "batch"), output <paramref name="output"/>.</summary>
    public byte[] ToModel(string input, long[] inputShape, string graphInput, string output, long[] outputShape, string outputName, string producerVersion)
    {
        // The graph's first node reads graphInput; rename it to the public input name by an Identity node.
        byte[] graph = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.LengthDelimited);
            w.WriteBytes(ByteString.CopyFrom(Message(n =>
            {
                n.WriteTag(1, WireFormat.WireType.LengthDelimited); n.WriteString(input);
                n.WriteTag(2, WireFormat.WireType.LengthDelimited); n.WriteString(graphInput);
                n.WriteTag(4, WireFormat.WireType.LengthDelimited); n.WriteString("Identity");
            })));
            foreach (var node in _nodes) { w.WriteTag(1, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(node)); }
            w.WriteTag(1, WireFormat.WireType.LengthDelimited);
            w.WriteBytes(ByteString.CopyFrom(Message(n =>
            {
                n.WriteTag(1, WireFormat.WireType.LengthDelimited); n.WriteString(output);
                n.WriteTag(2, WireFormat.WireType.LengthDelimited); n.WriteString(outputName);
                n.WriteTag(4, WireFormat.WireType.LengthDelimited); n.WriteString("Identity");
            })));
            w.WriteTag(2, WireFormat.WireType.LengthDelimited); w.WriteString(name);
            foreach (var initializer in _initializers) { w.WriteTag(5, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(initializer)); }
            w.WriteTag(11, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(ValueInfo(input, inputShape)));
            w.WriteTag(12, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(ValueInfo(outputName, outputShape)));
        });
        return Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.Varint); w.WriteInt64(IrVersion);
            w.WriteTag(2, WireFormat.WireType.LengthDelimited); w.WriteString("TwinTrain");
            w.WriteTag(3, WireFormat.WireType.LengthDelimited); w.WriteString(producerVersion);
            w.WriteTag(7, WireFormat.WireType.LengthDelimited); w.WriteBytes(ByteString.CopyFrom(graph));
            w.WriteTag(8, WireFormat.WireType.LengthDelimited);
            w.WriteBytes(ByteString.CopyFrom(Message(o =>
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString("");
                o.WriteTag(2, WireFormat.WireType.Varint); o.WriteInt64(Opset);
            })));
        });
    }

    /// <summary>A float tensor's name and shape; dimension 0 is the dynamic "batch".</summary>
    static byte[] ValueInfo(string valueName, long[] shape) => Message(w =>
    {
        w.WriteTag(1, WireFormat.WireType.LengthDelimited); w.WriteString(valueName);
        w.WriteTag(2, WireFormat.WireType.LengthDelimited);
        w.WriteBytes(ByteString.CopyFrom(Message(type =>
        {
            type.WriteTag(1, WireFormat.WireType.LengthDelimited);
            type.WriteBytes(ByteString.CopyFrom(Message(tensor =>
            {
                tensor.WriteTag(1, WireFormat.WireType.Varint); tensor.WriteInt32(FloatType);
                tensor.WriteTag(2, WireFormat.WireType.LengthDelimited);
                tensor.WriteBytes(ByteString.CopyFrom(Message(s =>
                {
                    for (int i = 0; i < shape.Length; i++)
                    {
                        s.WriteTag(1, WireFormat.WireType.LengthDelimited);
                        s.WriteBytes(ByteString.CopyFrom(Message(d =>
                        {
                            if (i == 0) { d.WriteTag(2, WireFormat.WireType.LengthDelimited); d.WriteString("batch"); }
                            else { d.WriteTag(1, WireFormat.WireType.Varint); d.WriteInt64(shape[i]); }
                        })));
                    }
                })));
            })));
        })));
    });

    static byte[] Message(Action<CodedOutputStream> write)
    {
        using var stream = new MemoryStream();
        using (var output = new CodedOutputStream(stream, leaveOpen: true)) write(output);
        return stream.ToArray();
    }
}
