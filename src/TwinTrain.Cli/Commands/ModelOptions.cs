using TwinTrain.Experiment;
using System.CommandLine;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Models;

namespace TwinTrain.Cli.Commands;

/// <summary>The options of the commands that use a trained model: the model, and for a bare torch file its architecture.</summary>
public sealed class ModelOptions
{
    readonly Option<string> _model = new("--model", "-m")
    {
        Description = "A run folder (from train or compare), its model file, or a PyTorch state_dict (.pt).",
        Required = true,
    };
    readonly Option<string?> _arch = new("--arch")
    {
        Description = $"For a torch file: the architecture it was trained as (a preset or a config file); default: the {Architecture.FileName} beside it, else study.",
    };

    public void AddTo(Command command)
    {
        command.Add(_model);
        command.Add(_arch);
    }

    public TrainedModel Load(ParseResult parse) => TrainedModel.Load(parse.GetValue(_model)!, parse.GetValue(_arch));

    /// <summary>The data set the model's run recorded (null when none is recorded).</summary>
    public DataSummary? RecordedData(ParseResult parse) => TrainedModel.RecordedData(parse.GetValue(_model)!);
}
