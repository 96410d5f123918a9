using System.CommandLine;
using System.Globalization;
using TwinTrain.Experiment.Models;
using TwinTrain.Frameworks.Torch;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain convert`: a trained model into the other framework's format, or to or from a PyTorch state_dict.</summary>
public static class ConvertCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var to = new Option<ModelFormat>("--to") { Description = "keras (a Keras 3 .keras file), torch (TorchSharp .dat) or pytorch (a state_dict .pt that torch.load reads).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The file to write (.keras, .dat or .pt to match --to).", Required = true };
        var command = new Command("convert", "Convert a trained model between the frameworks' layouts and file formats.") { to, output };
        model.AddTo(command);
        command.SetAction(parse =>
        {
            var format = parse.GetValue(to);
            string path = parse.GetValue(output)!;
            string extension = WeightConversion.Extension(format);
            bool legacyZip = format == ModelFormat.Keras && path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
            if (!path.EndsWith(extension, StringComparison.OrdinalIgnoreCase) && !legacyZip)
                throw new ArgumentException($"--out {path}: a {format.ToString().ToLowerInvariant()} model file ends in {extension}.");
            using var source = model.Load(parse);
            double difference = WeightConversion.Convert(source, format, path);
            parse.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Wrote {path} ({format.ToString().ToLowerInvariant()}) from the {source.Framework} model {source.Path}; on 256 random images the two give probabilities within {difference:E1}."));
            return 0;
        });
        return command;
    }
}
