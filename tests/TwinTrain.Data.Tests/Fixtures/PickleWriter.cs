using System.Text;

namespace TwinTrain.Data.Tests.Fixtures;

/// <summary>
/// Writes a CIFAR-10 python batch the way the official release was made (Python 2 cPickle, protocol 2): a dict of
/// py2 strings with 'data' a numpy uint8 array built through numpy.core.multiarray._reconstruct.
/// With <c>python3Bytes</c>, strings are bytes objects as Python 3 writes them under protocol 2
/// (_codecs.encode(text, 'latin1')), the form of batches re-pickled with pickle.dump(..., protocol=2).
/// </summary>
public static class PickleWriter
{
    public static byte[] CifarBatch(byte[] labels, byte[][] planar, string batchLabel, int? labelOverride = null, bool python3Bytes = false) =>
        Batch([("labels", labels)], planar, batchLabel, labelOverride, python3Bytes);

    /// <summary>A CIFAR-100 batch ('train' or 'test'): 'fine_labels' and 'coarse_labels' lists instead of 'labels'.</summary>
    public static byte[] Cifar100Batch(byte[] fine, byte[] coarse, byte[][] planar, string batchLabel) =>
        Batch([("fine_labels", fine), ("coarse_labels", coarse)], planar, batchLabel, null, false);

    /// <summary>CIFAR-100's 'meta': a dict of py2 strings to lists of py2 strings (the label names).</summary>
    public static byte[] Meta(IReadOnlyList<(string Key, IReadOnlyList<string> Names)> lists)
    {
        var p = new List<byte> { 0x80, 0x02, (byte)'}', (byte)'(' };
        void Str(string s) { var bytes = Encoding.Latin1.GetBytes(s); p.Add((byte)'U'); p.Add((byte)bytes.Length); p.AddRange(bytes); }
        foreach (var (key, names) in lists)
        {
            Str(key);
            p.Add((byte)']');
            p.Add((byte)'(');
            foreach (string name in names) Str(name);
            p.Add((byte)'e');
        }
        p.Add((byte)'u');
        p.Add((byte)'.');
        return p.ToArray();
    }

    static byte[] Batch(IReadOnlyList<(string Key, byte[] Labels)> labelLists, byte[][] planar, string batchLabel, int? labelOverride, bool python3Bytes)
    {
        var labels = labelLists[0].Labels;
        var p = new List<byte> { 0x80, 0x02 };
        int memo = 1;
        void Put() { p.Add((byte)'q'); p.Add((byte)memo++); }
        void Global(string module, string name) { p.Add((byte)'c'); p.AddRange(Encoding.ASCII.GetBytes($"{module}\n{name}\n")); Put(); }
        void Unicode(string s) { var u = Encoding.UTF8.GetBytes(s); p.Add((byte)'X'); p.AddRange(BitConverter.GetBytes(u.Length)); p.AddRange(u); }
        void Text(string s) { if (python3Bytes) Unicode(s); else Str(s); } // a str in both Pythons
        void Str(string s)
        {
            if (python3Bytes)
            {
                Global("_codecs", "encode");
                Unicode(s);
                Unicode("latin1");
                p.Add(0x86);
                p.Add((byte)'R');
                return;
            }
            var bytes = Encoding.Latin1.GetBytes(s);
            if (bytes.Length < 256) { p.Add((byte)'U'); p.Add((byte)bytes.Length); }
            else { p.Add((byte)'T'); p.AddRange(BitConverter.GetBytes(bytes.Length)); }
            p.AddRange(bytes);
        }
        void Int(int v)
        {
            if (v is >= 0 and < 256) { p.Add((byte)'K'); p.Add((byte)v); }
            else if (v is >= 0 and < 65536) { p.Add((byte)'M'); p.AddRange(BitConverter.GetBytes((ushort)v)); }
            else { p.Add((byte)'J'); p.AddRange(BitConverter.GetBytes(v)); }
        }

        p.Add((byte)'}'); Put();
        p.Add((byte)'(');
        Str("data"); Put();
        Global("numpy.core.multiarray", "_reconstruct");
        Global("numpy", "ndarray");
        Int(0); p.Add(0x85); Put();
        Text("b"); Put();
        p.Add(0x87); Put();
        p.Add((byte)'R'); Put();
        p.Add((byte)'(');
        Int(1);
        Int(labels.Length); Int(3072); p.Add(0x86); Put();
        Global("numpy", "dtype");
        Text("u1"); Int(0); Int(1); p.Add(0x87); Put();
        p.Add((byte)'R'); Put();
        p.Add((byte)'(');
        Int(3); Text("|"); p.Add((byte)'N'); p.Add((byte)'N'); p.Add((byte)'N');
        p.Add((byte)'J'); p.AddRange(BitConverter.GetBytes(-1)); p.Add((byte)'J'); p.AddRange(BitConverter.GetBytes(-1)); Int(0);
        p.Add((byte)'t'); Put();
        p.Add((byte)'b');
        p.Add(0x89);
        var raw = planar.SelectMany(x => x).ToArray();
        if (python3Bytes) Str(Encoding.Latin1.GetString(raw));
        else { p.Add((byte)'T'); p.AddRange(BitConverter.GetBytes(raw.Length)); p.AddRange(raw); }
        Put();
        p.Add((byte)'t'); Put();
        p.Add((byte)'b');
        foreach (var (key, list) in labelLists)
        {
            Str(key); Put();
            p.Add((byte)']'); Put();
            p.Add((byte)'(');
            foreach (var label in list) Int(labelOverride ?? label);
            p.Add((byte)'e');
        }
        Str("batch_label"); Put();
        Str(batchLabel); Put();
        Str("filenames"); Put();
        p.Add((byte)']'); Put();
        p.Add((byte)'(');
        for (int i = 0; i < labels.Length; i++) { Str($"image_{i}.png"); Put(); }
        p.Add((byte)'e');
        p.Add((byte)'u');
        p.Add((byte)'.');
        return p.ToArray();
    }
}
