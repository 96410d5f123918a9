using System.Numerics;
using Google.Protobuf;

namespace TwinTrain.Experiment.Reporting;

/// <summary>
/// One TensorBoard event file (events.out.tfevents.*): TFRecords (length, masked CRC-32C of the length, an Event
/// protobuf, masked CRC-32C of it) as TensorFlow's event writer produces them, starting with the file_version event,
/// each event stamped with the real wall time in seconds. Events are appended and flushed one by one: TensorBoard reads
/// a file being written, and a crash loses at most the record being written, which its reader skips.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    // tensorflow/core/util/event.proto: Event { double wall_time = 1; int64 step = 2; string file_version = 3;
    // Summary summary = 5; } and summary.proto: Summary { repeated Value value = 1; } Value { string tag = 1;
    // float simple_value = 2; }.
    const int WallTime = 1, Step = 2, FileVersion = 3, SummaryField = 5, ValueField = 1, Tag = 1, SimpleValue = 2;
    static int _files;

    readonly FileStream _file;

    public TensorBoardWriter(string folder)
    {
        Directory.CreateDirectory(folder);
        long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Path = System.IO.Path.Combine(folder,
            $"events.out.tfevents.{seconds}.{Environment.MachineName}.{Environment.ProcessId}.{Interlocked.Increment(ref _files)}.v2");
        _file = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(Event(output =>
        {
            output.WriteTag(FileVersion, WireFormat.WireType.LengthDelimited);
            output.WriteString("brain.Event:2");
        }));
    }

    public string Path { get; }

    /// <summary>A scalar under <paramref name="tag"/> at <paramref name="step"/>.</summary>
    public void AddScalar(string tag, double value, long step)
    {
        var item = new MemoryStream();
        using (var output = new CodedOutputStream(item, leaveOpen: true))
        {
            output.WriteTag(Tag, WireFormat.WireType.LengthDelimited);
            output.WriteString(tag);
            output.WriteTag(SimpleValue, WireFormat.WireType.Fixed32);
            output.WriteFloat((float)value);
        }
        var summary = new MemoryStream();
        using (var output = new CodedOutputStream(summary, leaveOpen: true))
        {
            output.WriteTag(ValueField, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(item.ToArray()));
        }
        Write(Event(output =>
        {
            output.WriteTag(Step, WireFormat.WireType.Varint);
            output.WriteInt64(step);
            output.WriteTag(SummaryField, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(summary.ToArray()));
        }));
    }

    static byte[] Event(Action<CodedOutputStream> fields)
    {
        var bytes = new MemoryStream();
        using (var output = new CodedOutputStream(bytes, leaveOpen: true))
        {
            output.WriteTag(WallTime, WireFormat.WireType.Fixed64);
            output.WriteDouble(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
            fields(output);
        }
        return bytes.ToArray();
    }

    /// <summary>A TFRecord: uint64 length, masked CRC-32C of those 8 bytes, the data, masked CRC-32C of the data.</summary>
    void Write(byte[] data)
    {
        var length = BitConverter.GetBytes((ulong)data.Length);
        _file.Write(length);
        _file.Write(BitConverter.GetBytes(MaskedCrc(length)));
        _file.Write(data);
        _file.Write(BitConverter.GetBytes(MaskedCrc(data)));
        _file.Flush();
    }

    /// <summary>TFRecord's masked CRC-32C (Castagnoli): rotated right by 15 bits plus 0xa282ead8.</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>
/// The files Keras's TensorBoard callback writes for one run (keras/src/callbacks/tensorboard.py), for either
/// framework: RUN/train with epoch_loss, epoch_accuracy and epoch_learning_rate at step = epoch (from 0), and
/// batch_loss, batch_accuracy every N training steps (step = the step's number over the run, from 1);
/// RUN/validation with epoch_loss, epoch_accuracy and evaluation_loss_vs_iterations,
/// evaluation_accuracy_vs_iterations (step = the optimizer's iterations so far).
/// </summary>
public sealed class TensorBoardRun(string folder, int updateFrequency = 0) : IDisposable
{
    readonly TensorBoardWriter _train = new(Path.Combine(folder, "train"));
    readonly TensorBoardWriter _validation = new(Path.Combine(folder, "validation"));

    /// <summary>After training step <paramref name="globalStep"/> (from 1, over the whole run) with the epoch's running means.</summary>
    public void Step(long globalStep, double loss, double accuracy)
    {
        if (updateFrequency <= 0 || globalStep % updateFrequency != 0) return;
        _train.AddScalar("batch_accuracy", accuracy, globalStep);
        _train.AddScalar("batch_loss", loss, globalStep);
    }

    public void Epoch(int epoch, long iterations, double learningRate, EpochRecord record)
    {
        _train.AddScalar("epoch_accuracy", record.Accuracy, epoch);
        _train.AddScalar("epoch_learning_rate", learningRate, epoch);
        _train.AddScalar("epoch_loss", record.Loss, epoch);
        _validation.AddScalar("evaluation_accuracy_vs_iterations", record.ValAccuracy, iterations);
        _validation.AddScalar("evaluation_loss_vs_iterations", record.ValLoss, iterations);
        _validation.AddScalar("epoch_accuracy", record.ValAccuracy, epoch);
        _validation.AddScalar("epoch_loss", record.ValLoss, epoch);
    }

    public void Dispose()
    {
        _train.Dispose();
        _validation.Dispose();
    }
}
