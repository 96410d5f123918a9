using System.CommandLine;
using System.Globalization;
using TwinTrain.Data;
using TwinTrain.Experiment.Export;
using TwinTrain.Experiment.Models;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain predict`: the three most likely classes for each image file.</summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var runtime = new Option<string>("--runtime") { Description = "native (the framework itself) or onnx (the model exported to ONNX, run by ONNX Runtime).", DefaultValueFactory = _ => "native" };
        runtime.AcceptOnlyFromAmong("native", "onnx");
        var images = new Argument<string[]>("images") { Description = "PNG or JPEG files of any size (resized to the model's image size by area averaging; grey for a one-channel model).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Classify image files with a trained model (top-3 classes).") { runtime, images };
        model.AddTo(command);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            using var trained = model.Load(parse);
            var shape = trained.InputShape;
            var classNames = trained.ClassNames();
            using var onnx = parse.GetValue(runtime) == "onnx" ? new OnnxModel(OnnxExport.Export(trained), trained.Path) : null;
            int failures = 0;
            foreach (string path in parse.GetValue(images)!)
            {
                byte[] pixels;
                try
                {
                    pixels = ImageInput.Load(path, shape);
                }
                catch (DataFormatException e)
                {
                    error.WriteLine($"error: {e.Message}");
                    failures++;
                    continue;
                }
                var image = new ImageSet(pixels, [0], shape);
                var probabilities = onnx is null ? trained.Probabilities(image)
                    : onnx.OutputName == "probabilities" ? onnx.Run(image) : ClassScores.Softmax(onnx.Run(image), classNames.Count);
                var top = probabilities.Select((p, c) => (p, c)).OrderByDescending(x => x.p).Take(3)
                    .Select(x => string.Create(CultureInfo.InvariantCulture, $"{classNames[x.c]} {100 * x.p:F1}%"));
                output.WriteLine($"{path}: {string.Join(", ", top)}");
            }
            return failures == 0 ? 0 : CommandRunner.Failure;
        });
        return command;
    }
}
