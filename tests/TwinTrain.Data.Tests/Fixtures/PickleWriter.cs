using System.Text;

namespace TwinTrain.Data.Tests.Fixtures;

/// <summary>
/// Writes a CIFAR-10 python batch the way the official release was made (Python 2 cPickle, protocol 2): a dict of
/// py2 strings with 'data' a numpy uint8 array built through numpy.core.multiarray._reconstruct.
/// </summary>
public static class PickleWriter
{
    public static byte[] CifarBatch(byte[] labels, byte[][] planar, string batchLabel, int? labelOverride = null)
    {
        var p = new List<byte> { 0x80, 0x02 };
        int memo = 1;
        void Put() { p.Add((byte)'q'); p.Add((byte)memo++); }
        void Str(string s)
        {
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
        void Global(string module, string name) { p.Add((byte)'c'); p.AddRange(Encoding.ASCII.GetBytes($"{module}\n{name}\n")); Put(); }

        p.Add((byte)'}'); Put();
        p.Add((byte)'(');
        Str("data"); Put();
        Global("numpy.core.multiarray", "_reconstruct");
        Global("numpy", "ndarray");
        Int(0); p.Add(0x85); Put();
        Str("b"); Put();
        p.Add(0x87); Put();
        p.Add((byte)'R'); Put();
        p.Add((byte)'(');
        Int(1);
        Int(labels.Length); Int(3072); p.Add(0x86); Put();
        Global("numpy", "dtype");
        Str("u1"); Int(0); Int(1); p.Add(0x87); Put();
        p.Add((byte)'R'); Put();
        p.Add((byte)'(');
        Int(3); Str("|"); p.Add((byte)'N'); p.Add((byte)'N'); p.Add((byte)'N');
        p.Add((byte)'J'); p.AddRange(BitConverter.GetBytes(-1)); p.Add((byte)'J'); p.AddRange(BitConverter.GetBytes(-1)); Int(0);
        p.Add((byte)'t'); Put();
        p.Add((byte)'b');
        p.Add(0x89);
        var raw = planar.SelectMany(x => x).ToArray();
        p.Add((byte)'T'); p.AddRange(BitConverter.GetBytes(raw.Length)); p.AddRange(raw); Put();
        p.Add((byte)'t'); Put();
        p.Add((byte)'b');
        Str("labels"); Put();
        p.Add((byte)']'); Put();
        p.Add((byte)'(');
        foreach (var label in labels) Int(labelOverride ?? label);
        p.Add((byte)'e');
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
