using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using TwinTrain.Data.Formats;
using TwinTrain.Data.Tests.Fixtures;
using TwinTrain.Tests.Shared;
using Xunit.Abstractions;

namespace TwinTrain.Data.Tests;

/// <summary>JPEG pixels as libjpeg-turbo gives them to PIL, torchvision and Keras's image loading.</summary>
public class JpegDecodingTests(ITestOutputHelper output)
{
    /// <summary>Debian's own Python, the one python3-pil is built for (the first python3 on PATH may be another).</summary>
    const string DebianPython = "/usr/bin/python3";

    [Fact]
    public void Should_decode_every_shared_JPEG_exactly_as_Debian_PIL_does()
    {
        var ours = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using (var tar = new TarReader(new GZipStream(File.OpenRead(SharedData.ArchivePath), CompressionMode.Decompress)))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType != TarEntryType.RegularFile || !entry.Name.EndsWith(".jpg", StringComparison.Ordinal)) continue;
                using var bytes = new MemoryStream();
                entry.DataStream!.CopyTo(bytes);
                var (rgb, width, height) = ImageFile.Decode(bytes.ToArray(), entry.Name);
                Assert.Equal((32, 32), (width, height));
                ours[entry.Name] = rgb;
            }
        }
        Assert.Equal(60_000, ours.Count);

        long values = 0, identical = 0;
        var differing = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var pil = StartPil(SharedData.ArchivePath);
        var stream = pil.StandardOutput.BaseStream;
        Span<byte> size = stackalloc byte[4];
        while (ReadName(stream) is { } name)
        {
            stream.ReadExactly(size);
            var theirs = new byte[BitConverter.ToUInt16(size) * BitConverter.ToUInt16(size[2..]) * 3];
            stream.ReadExactly(theirs);
            Assert.True(seen.Add(name), $"PIL gave {name} twice");
            Assert.True(ours.TryGetValue(name, out var mine), $"PIL decoded {name}, which TwinTrain did not");
            Assert.Equal(mine.Length, theirs.Length);
            values += theirs.Length;
            int same = 0;
            for (int i = 0; i < theirs.Length; i++) same += mine[i] == theirs[i] ? 1 : 0;
            identical += same;
            if (same != theirs.Length) differing.Add(name);
        }
        string errors = pil.StandardError.ReadToEnd();
        pil.WaitForExit();
        Assert.True(pil.ExitCode == 0, $"{DebianPython} pil_decode.py failed: {errors}");
        Assert.Equal(ours.Count, seen.Count);

        output.WriteLine($"{identical:N0} of {values:N0} channel values identical to PIL's; decoder: {ImageFile.JpegDecoder}");
        Assert.True(differing.Count == 0, $"{differing.Count} images differ from PIL's pixels, e.g. {string.Join(", ", differing.Take(3))}");
        Assert.Equal(60_000L * 32 * 32 * 3, identical);
    }

    [Fact]
    public void Should_refuse_a_jpeg_whose_data_is_cut_even_with_its_end_marker()
    {
        byte[] whole = CifarFixtures.Jpeg(Noise(32 * 32 * 3), 32, 32);
        // The first half, then the end marker: libjpeg decodes it with "premature end of data segment" and grey below.
        byte[] cut = [.. whole.AsSpan(0, whole.Length / 2), 0xFF, 0xD9];
        var error = Assert.Throws<DataFormatException>(() => ImageFile.Decode(cut, "cut.jpg"));
        Assert.StartsWith("cut.jpg: the JPEG data is corrupt (libjpeg-turbo: ", error.Message);
    }

    [Fact]
    public void Should_refuse_a_jpeg_larger_than_allowed_before_decoding_it()
    {
        byte[] jpeg = CifarFixtures.Jpeg(new byte[64 * 48 * 3], 64, 48);
        var error = Assert.Throws<DataFormatException>(() => ImageFile.Decode(jpeg, "big.jpg", maxPixels: 1000));
        Assert.Equal("big.jpg: the image is 64x48, more than the 1,000 pixels allowed; resize it first.", error.Message);
    }

    [Fact]
    public void Should_name_libjpeg_turbo_and_its_settings_as_the_decoder_of_an_image_folder_also_from_the_cache()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.ImageFolder(1, 1).ToDictionary(f => Path.ChangeExtension(f.Key, ".jpg"), _ => CifarFixtures.Jpeg(Noise(3072), 32, 32));
        string source = CifarFixtures.WriteFolder(temp["data"], files);
        var first = DatasetLoader.Load(source, temp["cache"]).Report;
        var second = DatasetLoader.Load(source, temp["cache"]).Report;
        Assert.True(second.FromCache);
        foreach (var report in new[] { first, second })
        {
            Assert.Equal(nameof(DataForm.ImageFolder), report.Form);
            Assert.Matches(@"^libjpeg-turbo \d+\.\d+\.\d+ \(TurboJPEG, /.*turbojpeg[^)]*\): accurate integer IDCT, fancy upsampling$", report.Decoder);
        }
    }

    static byte[] Noise(int length)
    {
        var random = new Random(7);
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    static Process StartPil(string archive)
    {
        string script = Path.Combine(SharedData.RepositoryRoot, "tests", "TwinTrain.Data.Tests", "Scripts", "pil_decode.py");
        if (!File.Exists(DebianPython))
            throw new FileNotFoundException($"This test compares with Debian's PIL and needs {DebianPython} (apt-get install python3-pil).");
        var start = new ProcessStartInfo(DebianPython) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(archive);
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        return Process.Start(start)!;
    }

    /// <summary>The next image's name, up to its newline; null at the end of PIL's output.</summary>
    static string? ReadName(Stream stream)
    {
        var name = new List<byte>();
        while (true)
        {
            int b = stream.ReadByte();
            if (b < 0) return name.Count == 0 ? null : throw new EndOfStreamException("PIL's output ends inside a name");
            if (b == '\n') return Encoding.UTF8.GetString(name.ToArray());
            name.Add((byte)b);
        }
    }
}
