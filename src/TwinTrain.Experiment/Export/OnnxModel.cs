using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TwinTrain.Data;
using TwinTrain.Data.Batching;

namespace TwinTrain.Experiment.Export;

/// <summary>
/// An exported model run by ONNX Runtime: its input layout and image shape are read from the model's input
/// (batch, H, W, C) or (batch, C, H, W), its class count from the output (batch, classes).
/// </summary>
public sealed class OnnxModel : IDisposable
{
    readonly InferenceSession _session;
    readonly string _input, _output;

    public OnnxModel(byte[] model, string location)
    {
        try
        {
            _session = new InferenceSession(model, new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount });
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{location}: ONNX Runtime cannot load it ({e.Message}).", e);
        }
        _input = _session.InputMetadata.Keys.Single();
        _output = _session.OutputMetadata.Keys.Single();
        var dims = _session.InputMetadata[_input].Dimensions;
        var output = _session.OutputMetadata[_output].Dimensions;
        if (dims.Length != 4 || output.Length != 2 || output[1] < 1)
            throw new InvalidDataException($"{location}: takes ({string.Join(", ", dims)}) to ({string.Join(", ", output)}); TwinTrain runs image classifiers, (batch, H, W, C) or (batch, C, H, W) to (batch, classes).");
        // Channels are 1 or 3: channels-first when the second dimension is one of those and the last is not.
        Layout = dims[1] is 1 or 3 && dims[3] is not (1 or 3) ? ImageLayout.Nchw : ImageLayout.Nhwc;
        Shape = Layout == ImageLayout.Nhwc ? new ImageShape(dims[1], dims[2], dims[3]) : new ImageShape(dims[2], dims[3], dims[1]);
        Classes = output[1];
    }

    public static OnnxModel Load(string path) => new(File.ReadAllBytes(path), path);

    public ImageLayout Layout { get; }
    public ImageShape Shape { get; }
    public int Classes { get; }
    public string OutputName => _output;

    /// <summary>The model's output (one value per class and image) for every image of the set, in batches of 256.</summary>
    public float[] Run(ImageSet set)
    {
        if (set.Shape != Shape) throw new InvalidDataException($"the ONNX model takes images of {Shape}, not {set.Shape}.");
        var converter = new PixelConverter(Layout);
        var result = new float[set.Count * Classes];
        const int batch = 256;
        for (int start = 0; start < set.Count; start += batch)
        {
            int count = Math.Min(batch, set.Count - start);
            var x = new float[count * Shape.Pixels];
            converter.Fill(set, [.. Enumerable.Range(start, count)], x);
            int[] dims = Layout == ImageLayout.Nhwc ? [count, Shape.Height, Shape.Width, Shape.Channels] : [count, Shape.Channels, Shape.Height, Shape.Width];
            var input = NamedOnnxValue.CreateFromTensor(_input, new DenseTensor<float>(x, dims));
            using var outputs = _session.Run([input]);
            outputs.First().AsEnumerable<float>().ToArray().CopyTo(result, start * Classes);
        }
        return result;
    }

    public void Dispose() => _session.Dispose();
}
