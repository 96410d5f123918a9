using System.CommandLine;
using TwinTrain.Experiment.Export;
using TwinTrain.Experiment.Models;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain export`: a trained model of either framework as an ONNX file, checked by loading it in ONNX Runtime.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "A run folder (from train or compare) or its model file.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The ONNX file to write.", Required = true };
        var command = new Command("export", "Export a trained model to ONNX (opset 13; dynamic batch size).") { model, output };
        command.SetAction(parse =>
        {
            var console = parse.InvocationConfiguration.Output;
            using var trained = TrainedModel.Load(parse.GetValue(model)!);
            byte[] onnx = OnnxExport.Export(trained);
            using (var check = new OnnxModel(onnx, "the exported model")) { }
            string path = parse.GetValue(output)!;
            string temp = path + ".tmp";
            File.WriteAllBytes(temp, onnx);
            File.Move(temp, path, overwrite: true);
            var (input, outputName) = OnnxExport.Signature(trained.Layout);
            console.WriteLine($"Wrote {path} ({onnx.Length:N0} bytes, opset {OnnxGraph.Opset}): input \"input\" ({string.Join(", ", input.Select(d => d < 0 ? "batch" : d.ToString()))}), output \"{outputName}\" (batch, 10); {trained.Framework} model {trained.Path}");
            return 0;
        });
        return command;
    }
}
