using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TwinTrain.Data;
using TwinTrain.Data.Batching;

namespace TwinTrain.Experiment.Export;

/// <summary>An exported model run by ONNX Runtime: its input layout is read from the model's input shape.</summary>
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
        var shape = _session.InputMetadata[_input].Dimensions;
        Layout = shape.Length == 4 && shape[3] == 3 ? ImageLayout.Nhwc : ImageLayout.Nchw;
    }

    public static OnnxModel Load(string path) => new(File.ReadAllBytes(path), path);

    public ImageLayout Layout { get; }
    public string OutputName => _output;

    /// <summary>The model's output (10 values per image) for every image of the set, in batches of 256.</summary>
    public float[] Run(ImageSet set)
    {
        var converter = new PixelConverter(Layout);
        var result = new float[set.Count * CifarClasses.Count];
        const int batch = 256;
        for (int start = 0; start < set.Count; start += batch)
        {
            int count = Math.Min(batch, set.Count - start);
            var x = new float[count * CifarClasses.PixelsPerImage];
            converter.Fill(set, [.. Enumerable.Range(start, count)], x);
            int[] dims = Layout == ImageLayout.Nhwc ? [count, 32, 32, 3] : [count, 3, 32, 32];
            var input = NamedOnnxValue.CreateFromTensor(_input, new DenseTensor<float>(x, dims));
            using var outputs = _session.Run([input]);
            outputs.First().AsEnumerable<float>().ToArray().CopyTo(result, start * CifarClasses.Count);
        }
        return result;
    }

    public void Dispose() => _session.Dispose();
}
