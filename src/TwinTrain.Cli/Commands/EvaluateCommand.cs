using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using TwinTrain.Data;
using TwinTrain.Experiment.Models;
using TwinTrain.Experiment.Reporting;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain evaluate`: a trained model's test accuracy, loss, per-class accuracy and confusion matrix.</summary>
public static class EvaluateCommand
{
    public sealed record Evaluation(string Model, string Framework, int Images, double Accuracy, double Loss,
        IReadOnlyDictionary<string, double> PerClassAccuracy, int[][] ConfusionMatrix)
    {
        /// <summary>Label i's name, in the confusion matrix's order.</summary>
        public IReadOnlyList<string> ClassNames { get; init; } = CifarClasses.Names;
    }

    public static Command Create()
    {
        var model = new ModelOptions();
        var data = new Option<string?>("--data") { Description = "The test data: a release as an archive or folder, a folder of IDX files, or an image folder (default: the model's data set where it is kept, or where its run read it)." };
        var dataset = new Option<string?>("--dataset") { Description = $"The data set: {string.Join(", ", DatasetInfo.Names)} (default: the one the model's run recorded, else recognised from --data)." };
        dataset.AcceptOnlyFromAmong([.. DatasetInfo.Names]);
        var limit = new Option<int?>("--limit-test") { Description = "Evaluate on N images spread over the test set." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables." };
        var command = new Command("evaluate", "Evaluate a trained model on its data set's test split.") { data, dataset, limit, json };
        model.AddTo(command);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(limit) is < 1 and var n) throw new ArgumentException($"--limit-test must be at least 1 (got {n}).");
            using var trained = model.Load(parse);
            var recorded = model.RecordedData(parse);
            var named = DatasetInfo.Requested(parse.GetValue(dataset), null) ?? (parse.GetValue(data) is null ? recorded?.Info() : null);
            // An image folder is where its run read it; a release where it is kept (or where the run read it).
            string source = parse.GetValue(data)
                ?? (named is { IsImageFolder: false } ? DataLocation.Find(null, named) : null)
                ?? recorded?.Source
                ?? DataLocation.Resolve(null, named);
            var (full, _) = DatasetLoader.Load(source, dataset: named, images: recorded?.Images);
            trained.CheckFits(full.Info);
            var test = full.Test.Subset(parse.GetValue(limit) ?? int.MaxValue);
            var evaluation = Evaluate(trained, test, full.Info.ClassNames);
            output.Write(parse.GetValue(json) ? JsonSerializer.Serialize(evaluation, RunFiles.Json) + "\n" : Format(evaluation));
            return 0;
        });
        return command;
    }

    public static Evaluation Evaluate(TrainedModel model, ImageSet test, IReadOnlyList<string> classNames)
    {
        var probabilities = model.Probabilities(test);
        int classes = classNames.Count;
        var matrix = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
        double loss = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var row = probabilities.AsSpan(i * classes, classes);
            matrix[test.Labels[i]][ClassScores.ArgMax(row)]++;
            loss -= Math.Log(Math.Max(row[test.Labels[i]], 1e-7f));
        }
        int correct = Enumerable.Range(0, classes).Sum(c => matrix[c][c]);
        var perClass = classNames.Select((name, c) => (name, matrix[c].Sum() == 0 ? double.NaN : (double)matrix[c][c] / matrix[c].Sum()))
            .ToDictionary(p => p.name, p => p.Item2);
        return new Evaluation(model.Path, model.Framework, test.Count, (double)correct / test.Count, loss / test.Count, perClass, matrix) { ClassNames = classNames };
    }

    static string Format(Evaluation e)
    {
        var text = new StringBuilder();
        text.AppendLine(F($"{e.Framework} model {e.Model}: {e.Images:N0} test images, accuracy {100 * e.Accuracy:F2}%, loss {e.Loss:F4}"));
        text.AppendLine();
        if (e.ClassNames.Count > Experiment.Comparison.Charts.LabelledClasses) return text.Append(Extremes(e)).ToString();
        text.AppendLine("Confusion matrix (rows: true class, columns: predicted), with per-class accuracy:");
        text.Append(F($"{"",-11}"));
        foreach (string name in e.ClassNames) text.Append(F($"{name[..Math.Min(5, name.Length)],6}"));
        text.AppendLine(F($"{"acc.",8}"));
        for (int t = 0; t < e.ClassNames.Count; t++)
        {
            text.Append(F($"{e.ClassNames[t],-11}"));
            foreach (int count in e.ConfusionMatrix[t]) text.Append(F($"{count,6}"));
            text.AppendLine(F($"{100 * e.PerClassAccuracy[e.ClassNames[t]],7:F1}%"));
        }
        return text.ToString();
    }

    /// <summary>Too many classes for a matrix on a terminal (CIFAR-100): the hardest and easiest classes, each with its most frequent confusion (--json has the matrix).</summary>
    static string Extremes(Evaluation e)
    {
        int n = e.ClassNames.Count, shown = Experiment.Comparison.Charts.ExtremeClasses;
        var order = Enumerable.Range(0, n).Where(c => !double.IsNaN(e.PerClassAccuracy[e.ClassNames[c]]))
            .OrderBy(c => e.PerClassAccuracy[e.ClassNames[c]]).ThenBy(c => c).ToList();
        var text = new StringBuilder();
        string Line(int c)
        {
            int confused = Enumerable.Range(0, n).Where(p => p != c).MaxBy(p => e.ConfusionMatrix[c][p]);
            int total = e.ConfusionMatrix[c].Sum();
            return F($"  {e.ClassNames[c],-32}{100 * e.PerClassAccuracy[e.ClassNames[c]],6:F1}%   most often taken for {e.ClassNames[confused]} ({100.0 * e.ConfusionMatrix[c][confused] / total:F0}%)");
        }
        text.AppendLine(F($"Per-class accuracy of {n} classes: the {shown} hardest and the {shown} easiest (--json gives every class and the confusion matrix):"));
        foreach (int c in order.Take(shown)) text.AppendLine(Line(c));
        text.AppendLine("  ...");
        foreach (int c in order.TakeLast(shown)) text.AppendLine(Line(c));
        return text.ToString();
    }
}
