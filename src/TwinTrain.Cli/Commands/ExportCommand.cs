using System.CommandLine;
using TwinTrain.Experiment.Export;
using TwinTrain.Experiment.Models;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain export`: a trained model of either framework as an ONNX file, checked by loading it in ONNX Runtime.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var output = new Option<string>("--out", "-o") { Description = "The ONNX file to write.", Required = true };
        var data = new Option<string?>("--check-data") { Description = "The model's data set (as --data elsewhere) to check the export on: ONNX Runtime against the framework, outputs and speed." };
        var count = new Option<int>("--check-images") { Description = "Test images for the check.", DefaultValueFactory = _ => 1000 };
        var command = new Command("export", "Export a trained model to ONNX (opset 13; dynamic batch size).") { output, data, count };
        model.AddTo(command);
        command.SetAction(parse =>
        {
            var console = parse.InvocationConfiguration.Output;
            string path = parse.GetValue(output)!;
            if (Directory.Exists(path)) throw new ArgumentException($"--out {path}: is a folder; give the ONNX file's name (e.g. {Path.Combine(path, "model.onnx")}).");
            int checkImages = parse.GetValue(count);
            if (checkImages < 1) throw new ArgumentException($"--check-images must be at least 1 (got {checkImages}).");
            using var trained = model.Load(parse);
            byte[] onnx = OnnxExport.Export(trained);
            using (var check = new OnnxModel(onnx, "the exported model")) { }
            TwinTrain.Data.AtomicFile.WriteAllBytes(path, onnx);
            var (input, outputName, classes) = OnnxExport.Signature(trained);
            console.WriteLine($"Wrote {path} ({onnx.Length:N0} bytes, opset {OnnxGraph.Opset}): input \"input\" ({string.Join(", ", input.Select(d => d < 0 ? "batch" : d.ToString()))}), output \"{outputName}\" (batch, {classes}); {trained.Framework} model {trained.Path}");
            if (parse.GetValue(data) is { } source) Check(trained, onnx, source, checkImages, console);
            return 0;
        });
        return command;
    }

    /// <summary>Runs both on the same test images: largest output difference, class agreement, and images/s of each.</summary>
    static void Check(TrainedModel trained, byte[] onnx, string source, int count, TextWriter console)
    {
        var (data, _) = TwinTrain.Data.DatasetLoader.Load(source, images: TrainedModel.RecordedData(trained.Path)?.Images);
        trained.CheckFits(data.Info);
        var test = data.Test.Subset(count);
        int classes = data.Info.Classes;
        using var runtime = new OnnxModel(onnx, "the exported model");
        trained.Outputs(test.Subset(64));
        runtime.Run(test.Subset(64));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var expected = trained.Outputs(test);
        double frameworkRate = test.Count / clock.Elapsed.TotalSeconds;
        clock.Restart();
        var actual = runtime.Run(test);
        double onnxRate = test.Count / clock.Elapsed.TotalSeconds;
        double worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        int same = Enumerable.Range(0, test.Count).Count(i => ClassScores.ArgMax(expected.AsSpan(i * classes, classes)) == ClassScores.ArgMax(actual.AsSpan(i * classes, classes)));
        console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"Checked on {test.Count:N0} test images: largest output difference {worst:E1}, same class for {same:N0}/{test.Count:N0}; {trained.Framework} {frameworkRate:N0} images/s, ONNX Runtime {onnxRate:N0} images/s."));
    }
}
