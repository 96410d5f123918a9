using System.Globalization;
using System.Text;

namespace TwinTrain.Experiment.Comparison;

/// <summary>The comparison's short summary for the terminal: one row per framework, then the difference and the study's numbers.</summary>
public static class SummaryTable
{
    public static string Format(ComparisonResult result)
    {
        var text = new StringBuilder();
        string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        text.AppendLine(F($"{"framework",-10} {"runs",4} {"test accuracy",18} {"train s",9} {"s/epoch",8} {"img/s",7} {"peak MiB",9}"));
        foreach (var s in result.Summaries)
        {
            string spread = double.IsNaN(s.TestAccuracyStd) ? "" : F($" ± {100 * s.TestAccuracyStd:F2}");
            text.AppendLine(F($"{s.Framework,-10} {s.Runs,4} {$"{100 * s.TestAccuracyMean:F2}{spread} %",18} {s.TrainingSecondsMean,9:F1} {s.SecondsPerEpochMean,8:F1} {s.ImagesPerSecondMean,7:F0} {s.PeakMemoryBytesMax / 1048576.0,9:F0}"));
        }
        foreach (var failed in result.Runs.Where(r => r.Error is not null))
            text.AppendLine(F($"{failed.Framework,-10} seed {failed.Seed} failed: {failed.Error}"));
        foreach (var diverged in result.Runs.Where(r => r.Summary?.Status == RunSummary.Diverged))
            text.AppendLine(F($"{diverged.Framework,-10} seed {diverged.Seed} diverged at {diverged.Summary!.DivergedAt} (not in the statistics)."));
        if (result.AccuracyDifference is { } d && result.Config.Frameworks.Count == 2)
        {
            text.AppendLine(F($"{result.Config.Frameworks[0]} − {result.Config.Frameworks[1]}: {100 * d.Difference:+0.00;-0.00} points, 95% CI [{100 * d.Lower:+0.00;-0.00}, {100 * d.Upper:+0.00;-0.00}], Welch t = {d.T:F2}, df = {d.DegreesOfFreedom:F1}, p = {d.PValue:F3}: {(d.Significant ? "a significant difference" : "no significant difference")} at the 5% level."));
        }
        else if (result.Summaries.Count == 2)
        {
            text.AppendLine("Too few seeds for a test of the difference (two or more per framework are needed).");
        }
        text.AppendLine("The study (official CIFAR-10, Colab GPU): TensorFlow 68.78 %, PyTorch 68.95 %; 715 s vs 723 s.");
        if (result.Interrupted) text.AppendLine("Interrupted: run the same command again to continue.");
        return text.ToString();
    }
}
