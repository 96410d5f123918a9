using System.CommandLine;
using System.Globalization;
using TwinTrain.Data;
using TwinTrain.Experiment.Models;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain predict`: the three most likely classes for each image file.</summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "A run folder (from train or compare) or its model file.", Required = true };
        var runtime = new Option<string>("--runtime") { Description = "native (the framework itself); onnx comes with 'twintrain export'.", DefaultValueFactory = _ => "native" };
        runtime.AcceptOnlyFromAmong("native", "onnx");
        var images = new Argument<string[]>("images") { Description = "PNG or JPEG files of any size (resized to 32x32 by area averaging).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Classify image files with a trained model (top-3 classes).") { model, runtime, images };
        command.SetAction(parse =>
        {
            if (parse.GetValue(runtime) == "onnx")
                throw new NotSupportedException("--runtime onnx needs an ONNX export, which this build does not have yet; use --runtime native.");
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            using var trained = TrainedModel.Load(parse.GetValue(model)!);
            int failures = 0;
            foreach (string path in parse.GetValue(images)!)
            {
                byte[] pixels;
                try
                {
                    pixels = ImageInput.LoadAs32x32(path);
                }
                catch (DataFormatException e)
                {
                    error.WriteLine($"error: {e.Message}");
                    failures++;
                    continue;
                }
                var probabilities = trained.Probabilities(new ImageSet(pixels, [0]));
                var top = probabilities.Select((p, c) => (p, c)).OrderByDescending(x => x.p).Take(3)
                    .Select(x => string.Create(CultureInfo.InvariantCulture, $"{CifarClasses.Names[x.c]} {100 * x.p:F1}%"));
                output.WriteLine($"{path}: {string.Join(", ", top)}");
            }
            return failures == 0 ? 0 : CommandRunner.Failure;
        });
        return command;
    }
}
