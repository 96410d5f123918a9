using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace TwinTrain.Data.Formats;

/// <summary>
/// Writes a state_dict as torch.save does, so Python's torch.load reads it with weights_only=True and with mmap=True:
/// a zip whose entries are stored uncompressed with every record's data starting on a 64-byte boundary (the padding in
/// an "FB" extra field, as PyTorch's own writer puts it), archive/data.pkl a protocol-2 pickle of an OrderedDict of
/// torch._utils._rebuild_tensor_v2(storage, 0, size, stride, requires_grad=False, OrderedDict()), each storage in
/// archive/data/N, plus archive/byteorder and archive/version. .NET's ZipArchive cannot align records, so the few
/// zip headers are written here.
/// </summary>
public static class TorchStateDictWriter
{
    /// <summary>A tensor to write: its name, "float32" or "int64", its shape, and its values as little-endian bytes in row-major order.</summary>
    public readonly record struct Tensor(string Name, string DType, long[] Shape, byte[] Data);

    const int Alignment = 64;

    public static void Write(Stream output, IReadOnlyList<Tensor> tensors)
    {
        var zip = new StoredZip(output);
        zip.Add("archive/data.pkl", Pickle(tensors));
        zip.Add("archive/byteorder", "little"u8.ToArray());
        for (int i = 0; i < tensors.Count; i++) zip.Add($"archive/data/{i}", tensors[i].Data);
        zip.Add("archive/version", "3\n"u8.ToArray());
        zip.Finish();
    }

    static byte[] Pickle(IReadOnlyList<Tensor> tensors)
    {
        var p = new MemoryStream();
        void Op(byte b) => p.WriteByte(b);
        void Text(string s) { var b = Encoding.UTF8.GetBytes(s); Op((byte)'X'); p.Write(BitConverter.GetBytes(b.Length)); p.Write(b); }
        void Int(long v)
        {
            if (v is >= int.MinValue and <= int.MaxValue) { Op((byte)'J'); p.Write(BitConverter.GetBytes((int)v)); }
            else { Op(0x8a); Op(8); p.Write(BitConverter.GetBytes(v)); } // LONG1
        }
        void Global(string module, string name) { Op((byte)'c'); p.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n")); }
        void OrderedDict() { Global("collections", "OrderedDict"); Op((byte)')'); Op((byte)'R'); }
        void Tuple(IEnumerable<long> values) { Op((byte)'('); foreach (long v in values) Int(v); Op((byte)'t'); }

        Op(0x80); Op(2); // PROTO 2, as torch.save's default pickle_protocol
        OrderedDict();
        Op((byte)'(');
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            int size = t.DType switch { "float32" => 4, "int64" => 8, _ => throw new ArgumentException($"cannot write a {t.DType} tensor") };
            long count = t.Shape.Aggregate(1L, (a, b) => a * b);
            if (t.Data.Length != count * size) throw new ArgumentException($"'{t.Name}': {t.Data.Length} bytes for {count} {t.DType} values");
            Text(t.Name);
            Global("torch._utils", "_rebuild_tensor_v2");
            Op((byte)'(');
            Op((byte)'('); Text("storage"); Global("torch", t.DType == "float32" ? "FloatStorage" : "LongStorage");
            Text(i.ToString(System.Globalization.CultureInfo.InvariantCulture)); Text("cpu"); Int(count); Op((byte)'t');
            Op((byte)'Q');                                  // BINPERSID: the storage
            Int(0);                                         // storage_offset
            Tuple(t.Shape);
            Tuple(Contiguous(t.Shape));
            Op(0x89);                                       // requires_grad=False, as state_dict() tensors are
            OrderedDict();                                  // backward_hooks
            Op((byte)'t');
            Op((byte)'R');
        }
        Op((byte)'u');
        Op((byte)'.');
        return p.ToArray();
    }

    static long[] Contiguous(long[] shape)
    {
        var stride = new long[shape.Length];
        long step = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { stride[d] = step; step *= shape[d]; }
        return stride;
    }

    /// <summary>A zip of stored entries (PKWARE APPNOTE 4.3), each entry's data aligned with an "FB" extra field.</summary>
    sealed class StoredZip(Stream output)
    {
        readonly List<(string Name, uint Crc, uint Size, uint Offset)> _entries = [];
        long _position;

        public void Add(string name, byte[] data)
        {
            byte[] nameBytes = Encoding.UTF8.GetBytes(name);
            long offset = _position;
            int pad = (int)((Alignment - (offset + 30 + nameBytes.Length + 4) % Alignment) % Alignment);
            uint crc = Crc32.HashToUInt32(data);
            if (offset + data.Length > uint.MaxValue) throw new NotSupportedException("state_dicts over 4 GB are not written here");

            var header = new byte[30];
            BinaryPrimitives.WriteUInt32LittleEndian(header, 0x04034b50);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 20);     // version needed
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), 0);      // stored
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(12), 0x21);  // 1980-01-01, as PyTorch writes
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(14), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(18), (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(22), (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(26), (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(28), (ushort)(4 + pad));
            var extra = new byte[4 + pad];
            extra[0] = (byte)'F';
            extra[1] = (byte)'B';
            BinaryPrimitives.WriteUInt16LittleEndian(extra.AsSpan(2), (ushort)pad);
            extra.AsSpan(4).Fill((byte)'Z');

            foreach (var part in new[] { header, nameBytes, extra, data }) Put(part);
            _entries.Add((name, crc, (uint)data.Length, (uint)offset));
        }

        public void Finish()
        {
            long start = _position;
            foreach (var (name, crc, size, offset) in _entries)
            {
                byte[] nameBytes = Encoding.UTF8.GetBytes(name);
                var header = new byte[46];
                BinaryPrimitives.WriteUInt32LittleEndian(header, 0x02014b50);
                BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 20);  // made by
                BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), 20);  // needed
                BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(14), 0x21);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), crc);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), size);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), size);
                BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(28), (ushort)nameBytes.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(42), offset);
                Put(header);
                Put(nameBytes);
            }
            var end = new byte[22];
            BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
            BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), (ushort)_entries.Count);
            BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), (ushort)_entries.Count);
            BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), (uint)(_position - start));
            BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), (uint)start);
            Put(end);
            output.Flush();
        }

        void Put(byte[] bytes)
        {
            output.Write(bytes);
            _position += bytes.Length;
        }
    }
}
