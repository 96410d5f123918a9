using System.Formats.Tar;
using System.Text;
using TwinTrain.Data.Tests.Fixtures;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Data.Tests;

/// <summary>
/// Everything read is verified whole: archives that are damaged or cut short, files that are not what they claim
/// (devices, FIFOs, symlink loops, huge entries), truncated images and malformed pickles are each one error naming
/// the file, never a silent half dataset, a hang or a crash.
/// </summary>
public class VerifiedReadingTests
{
    static DataFormatException ReadFails(string path) => Assert.Throws<DataFormatException>(() => CifarReader.Read(path));

    static byte[] Tar(Dictionary<string, byte[]> files, TarEntryFormat format = TarEntryFormat.Pax)
    {
        using var output = new MemoryStream();
        using (var tar = new TarWriter(output, format, leaveOpen: true))
        {
            foreach (var (name, bytes) in files)
            {
                TarEntry entry = format == TarEntryFormat.Ustar ? new UstarTarEntry(TarEntryType.RegularFile, name) : new PaxTarEntry(TarEntryType.RegularFile, name);
                entry.DataStream = new MemoryStream(bytes);
                entry.ModificationTime = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero); // the same bytes every run
                tar.WriteEntry(entry);
            }
        }
        return output.ToArray();
    }

    static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(bytes);
        return output.ToArray();
    }

    [Fact]
    public void Should_reject_a_gzip_archive_whose_crc_does_not_match()
    {
        using var temp = new TempFolder();
        byte[] archive = CifarFixtures.TarGz(CifarFixtures.BinaryRelease(20));
        archive[^6] ^= 0x01; // one bit of the CRC-32 in the gzip trailer (RFC 1952: CRC32, then ISIZE, 4 bytes each)
        File.WriteAllBytes(temp["crc.tar.gz"], archive);
        var error = ReadFails(temp["crc.tar.gz"]);
        Assert.Contains("crc.tar.gz", error.Message);
        Assert.Contains("corrupt", error.Message);
    }

    [Fact]
    public void Should_never_read_different_data_from_an_archive_with_a_flipped_bit()
    {
        using var temp = new TempFolder();
        byte[] whole = Gzip(Tar(CifarFixtures.ImageFolder(3, 2), TarEntryFormat.Ustar));
        File.WriteAllBytes(temp["whole.tar.gz"], whole);
        var expected = CifarReader.Read(temp["whole.tar.gz"]).Data;
        // Every 7th byte after the gzip header, one at a time. A flip is caught (by deflate, tar or the gzip CRC) or,
        // where deflate's coding leaves the output unchanged (a bit of an unused Huffman code), gives the same data.
        int caught = 0;
        for (int at = 10; at < whole.Length; at += 7)
        {
            byte[] archive = (byte[])whole.Clone();
            archive[at] ^= 0x10;
            File.WriteAllBytes(temp["flip.tar.gz"], archive);
            try
            {
                var data = CifarReader.Read(temp["flip.tar.gz"]).Data;
                Assert.True(data.Train.Pixels.SequenceEqual(expected.Train.Pixels) && data.Test.Pixels.SequenceEqual(expected.Test.Pixels)
                    && data.Train.Labels.SequenceEqual(expected.Train.Labels), $"byte {at}: read different data without an error");
            }
            catch (DataFormatException e)
            {
                Assert.Contains("flip.tar.gz", e.Message);
                caught++;
            }
        }
        Assert.True(caught > whole.Length / 7 * 9 / 10, $"only {caught} flips caught");
    }

    [Fact]
    public void Should_reject_a_plain_tar_cut_at_an_entry_boundary()
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.ImageFolder(2, 1);
        byte[] whole = Tar(files, TarEntryFormat.Ustar);
        File.WriteAllBytes(temp["whole.tar"], whole);
        Assert.Equal(20, CifarReader.Read(temp["whole.tar"]).Data.Train.Count);

        // The first half of the entries, each a header and its padded data, and nothing after: no end-of-archive marker.
        byte[] half = Tar(files.Take(files.Count / 2).ToDictionary(), TarEntryFormat.Ustar);
        int withoutMarker = half.Length;
        while (withoutMarker >= 512 && !half.AsSpan(withoutMarker - 512, 512).ContainsAnyExcept((byte)0)) withoutMarker -= 512;
        File.WriteAllBytes(temp["cut.tar"], half[..withoutMarker]);
        var error = ReadFails(temp["cut.tar"]);
        Assert.Contains("cut.tar: the archive is truncated", error.Message);
    }

    [Fact]
    public void Should_reject_a_tar_entry_that_claims_more_bytes_than_its_kind_can_have()
    {
        using var temp = new TempFolder();
        byte[] tar = Tar(new Dictionary<string, byte[]> { ["cifar-10-batches-bin/data_batch_1.bin"] = new byte[100] }, TarEntryFormat.Ustar);
        // Claim 8 GiB in the ustar size field (octal, offset 124) and fix the header checksum (offset 148).
        Encoding.ASCII.GetBytes("77777777777\0").CopyTo(tar, 124);
        Encoding.ASCII.GetBytes("        ").CopyTo(tar, 148);
        int sum = tar.Take(512).Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(tar, 148);
        File.WriteAllBytes(temp["big.tar"], tar);
        var error = ReadFails(temp["big.tar"]);
        Assert.Contains("big.tar:cifar-10-batches-bin/data_batch_1.bin: 8,589,934,591 bytes, more than a file of its kind can be", error.Message);
    }

    [Fact]
    public void Should_reject_a_symlink_loop_a_fifo_and_a_device_in_an_image_folder()
    {
        using var temp = new TempFolder();
        string root = CifarFixtures.WriteFolder(temp["loop"], CifarFixtures.ImageFolder(1, 1));
        Directory.CreateSymbolicLink(Path.Combine(root, "cifar10", "train", "cat", "again"), Path.Combine(root, "cifar10"));
        Assert.Contains("a symbolic link loop", ReadFails(root).Message);

        root = CifarFixtures.WriteFolder(temp["fifo"], CifarFixtures.ImageFolder(1, 1));
        string fifo = Path.Combine(root, "cifar10", "train", "cat", "fifo.jpg");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        Assert.True(File.Exists(fifo));
        Assert.Contains($"{fifo}: empty, or not a regular file", ReadFails(root).Message);

        root = CifarFixtures.WriteFolder(temp["device"], CifarFixtures.ImageFolder(1, 1));
        string zero = Path.Combine(root, "cifar10", "train", "cat", "zero.jpg");
        File.CreateSymbolicLink(zero, "/dev/zero");
        string message = ReadFails(root).Message;
        Assert.True(message.Contains($"{zero}: empty, or not a regular file"), message);
    }

    [Fact]
    public void Should_follow_a_folder_symlink_that_is_not_a_loop()
    {
        using var temp = new TempFolder();
        string elsewhere = CifarFixtures.WriteFolder(temp["elsewhere"], CifarFixtures.ImageFolder(1, 1, root: "set"));
        Directory.CreateDirectory(temp["data"]);
        Directory.CreateSymbolicLink(Path.Combine(temp["data"], "cifar10"), Path.Combine(elsewhere, "set"));
        Assert.Equal(10, CifarReader.Read(temp["data"]).Data.Train.Count);
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpg")]
    public void Should_reject_a_truncated_image(string format)
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.ImageFolder(1, 1);
        byte[] rgb = CifarFixtures.Interleaved(CifarFixtures.PlanarImage(7));
        byte[] image = format == "png" ? CifarFixtures.Png(rgb, 32, 32) : CifarFixtures.Jpeg(rgb, 32, 32);
        files[$"cifar10/train/dog/cut.{format}"] = image[..(image.Length * 2 / 3)];
        var error = ReadFails(CifarFixtures.WriteFolder(temp.Path, files));
        Assert.Contains($"cut.{format}: the image is truncated", error.Message);
    }

    [Theory]
    [InlineData("INT with text", "(dp0\nI12x\n.")]
    [InlineData("LONG with text", "(dp0\nLabcL\n.")]
    [InlineData("a class named by numbers", "\u0080\u0002K\u0001K\u0002\u0093.")]
    public void Should_reject_a_malformed_pickle_naming_the_file(string what, string pickle)
    {
        using var temp = new TempFolder();
        var files = CifarFixtures.PythonRelease(2);
        files["cifar-10-batches-py/data_batch_3"] = Encoding.Latin1.GetBytes(pickle);
        var error = ReadFails(CifarFixtures.WriteFolder(temp.Path, files));
        Assert.True(error.Message.Contains("data_batch_3: not a readable CIFAR-10 python batch (malformed pickle"), $"{what}: {error.Message}");
    }
}
