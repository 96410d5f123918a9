using System.Globalization;
using System.Text;
using TwinTrain.Tests.Shared;
using static TwinTrain.Cli.Tests.CliRunner;

namespace TwinTrain.Cli.Tests;

/// <summary>
/// `--tensorboard` writes Keras's TensorBoard layout for both frameworks. The files are read back by a reader written
/// here from the formats' specifications, independent of the writer: TFRecord (uint64 length, masked CRC-32C of it,
/// data, masked CRC-32C of the data; CRC-32C by its bitwise definition) and the Event / Summary protobufs.
/// </summary>
public class TensorBoardTests
{
    sealed record Scalar(string Tag, long Step, float Value, double WallTime);

    static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1; // reflected Castagnoli polynomial
        }
        return ~crc;
    }

    static uint Masked(ReadOnlySpan<byte> data) { uint c = Crc32C(data); return ((c >> 15) | (c << 17)) + 0xa282ead8; }

    static (string? FileVersion, List<Scalar> Scalars) ReadEvents(string file)
    {
        byte[] bytes = File.ReadAllBytes(file);
        string? version = null;
        var scalars = new List<Scalar>();
        int at = 0;
        bool first = true;
        while (at < bytes.Length)
        {
            var length = bytes.AsSpan(at, 8);
            Assert.Equal(Masked(length), BitConverter.ToUInt32(bytes, at + 8));
            int n = (int)BitConverter.ToUInt64(length);
            var data = bytes.AsSpan(at + 12, n);
            Assert.Equal(Masked(data), BitConverter.ToUInt32(bytes, at + 12 + n));
            at += 12 + n + 4;

            double wall = 0;
            long step = 0;
            string? fileVersion = null;
            var values = new List<(string, float)>();
            foreach (var (field, value) in Fields(data.ToArray()))
            {
                switch (field)
                {
                    case 1: wall = BitConverter.ToDouble((byte[])value); break;
                    case 2: step = (long)(ulong)value; break;
                    case 3: fileVersion = Encoding.UTF8.GetString((byte[])value); break;
                    case 5:
                        foreach (var (f, item) in Fields((byte[])value))
                        {
                            Assert.Equal(1, f);
                            string tag = ""; float v = float.NaN;
                            foreach (var (g, x) in Fields((byte[])item))
                            {
                                if (g == 1) tag = Encoding.UTF8.GetString((byte[])x);
                                if (g == 2) v = BitConverter.ToSingle((byte[])x);
                            }
                            values.Add((tag, v));
                        }
                        break;
                }
            }
            Assert.InRange(wall, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
            if (first) { version = fileVersion; first = false; }
            scalars.AddRange(values.Select(v => new Scalar(v.Item1, step, v.Item2, wall)));
        }
        return (version, scalars);
    }

    /// <summary>A protobuf message's fields: varints as ulong, fixed64/fixed32 and length-delimited as bytes.</summary>
    static IEnumerable<(int Field, object Value)> Fields(byte[] message)
    {
        int at = 0;
        ulong Varint() { ulong v = 0; int shift = 0; byte b; do { b = message[at++]; v |= (ulong)(b & 0x7F) << shift; shift += 7; } while ((b & 0x80) != 0); return v; }
        while (at < message.Length)
        {
            ulong key = Varint();
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: yield return (field, Varint()); break;
                case 1: yield return (field, message[at..(at += 8)]); break;
                case 5: yield return (field, message[at..(at += 4)]); break;
                case 2: { int n = (int)Varint(); yield return (field, message[at..(at += n)]); break; }
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
    }

    [Fact]
    public void Should_compute_crc32c_as_the_standard_check_value()
    {
        // CRC-32C of "123456789" is 0xE3069283 (RFC 3720, the iSCSI check value).
        Assert.Equal(0xE3069283u, Crc32C("123456789"u8));
        Assert.Equal(Masked("123456789"u8), Experiment.Reporting.TensorBoardWriter.MaskedCrc("123456789"u8));
    }

    [Fact]
    public async Task Should_write_keras_tensorboard_files_for_both_frameworks_matching_the_history()
    {
        using var folder = new TempFolder();
        string board = folder["tb"];
        var (code, _, error) = await Run("compare", "--data", SharedData.ArchivePath, "--cache-dir", SharedData.CacheFolder, "--seeds", "0",
            "--epochs", "2", "--limit-train", "256", "--limit-test", "64", "--threads", "1", "--out", folder["cmp"],
            "--tensorboard", board, "--tensorboard-update-freq", "2");
        Assert.True(code == 0, error);

        foreach (string run in new[] { "keras-seed0", "torch-seed0" })
        {
            var history = File.ReadAllLines(Path.Combine(folder["cmp"], "runs", run, "history.csv")).Skip(1)
                .Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
            var train = Directory.GetFiles(Path.Combine(board, run, "train"), "events.out.tfevents.*");
            var validation = Directory.GetFiles(Path.Combine(board, run, "validation"), "events.out.tfevents.*");
            var (trainVersion, trainScalars) = ReadEvents(Assert.Single(train));
            var (validationVersion, validationScalars) = ReadEvents(Assert.Single(validation));
            Assert.Equal("brain.Event:2", trainVersion);
            Assert.Equal("brain.Event:2", validationVersion);

            for (int epoch = 0; epoch < 2; epoch++)
            {
                float Value(List<Scalar> scalars, string tag, long step) => Assert.Single(scalars, s => s.Tag == tag && s.Step == step).Value;
                Assert.Equal((float)history[epoch][1], Value(trainScalars, "epoch_loss", epoch));
                Assert.Equal((float)history[epoch][2], Value(trainScalars, "epoch_accuracy", epoch));
                Assert.Equal(0.001f, Value(trainScalars, "epoch_learning_rate", epoch));
                Assert.Equal((float)history[epoch][3], Value(validationScalars, "epoch_loss", epoch));
                Assert.Equal((float)history[epoch][4], Value(validationScalars, "epoch_accuracy", epoch));
                Assert.Equal((float)history[epoch][3], Value(validationScalars, "evaluation_loss_vs_iterations", (epoch + 1) * 4L));
            }
            // 256 images in batches of 64: 4 steps an epoch, batch values every 2 steps over the run.
            Assert.Equal([2L, 4, 6, 8], trainScalars.Where(s => s.Tag == "batch_loss").Select(s => s.Step));
        }
    }
}
