using System.Globalization;
using System.Net;
using TwinTrain.Experiment.Architectures;
using System.Text;

namespace TwinTrain.Experiment.Comparison;

/// <summary>
/// Writes report.md and a self-contained report.html (images embedded, no external references) from a comparison:
/// the study's numbers beside ours, accuracy over seeds with the test of the difference, time and memory, the
/// charts, the two code listings side by side, and the study's summed-loss mistake measured on our own run.
/// </summary>
public static class Report
{
    public const string Markdown = "report.md";
    public const string Html = "report.html";

    const double StudyKerasAccuracy = 0.6878, StudyTorchAccuracy = 0.6895, StudyKerasSeconds = 715, StudyTorchSeconds = 723;

    static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
    static string Percent(double value) => double.IsNaN(value) ? "n/a" : F($"{100 * value:F2} %");

    public static void Write(ComparisonResult result, string folder, IReadOnlyList<string> charts, IReadOnlyList<Listing> listings)
    {
        var sections = Sections(result, listings);
        var md = new StringBuilder();
        var html = new StringBuilder();
        md.AppendLine("# TwinTrain: Keras-style vs PyTorch-style on CIFAR-10").AppendLine();
        foreach (var (title, markdown, htmlBody) in sections)
        {
            md.AppendLine($"## {title}").AppendLine().AppendLine(markdown).AppendLine();
            html.AppendLine($"<h2>{WebUtility.HtmlEncode(title)}</h2>").AppendLine(htmlBody);
            if (title == "Results")
            {
                md.AppendLine("## Charts").AppendLine();
                html.AppendLine("<h2>Charts</h2>");
                foreach (string chart in charts)
                {
                    md.AppendLine($"![{chart}](charts/{chart}.png)").AppendLine();
                    string data = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(folder, "charts", chart + ".png")));
                    html.AppendLine($"<figure><img alt=\"{chart}\" src=\"data:image/png;base64,{data}\"></figure>");
                }
            }
        }
        TwinTrain.Data.AtomicFile.WriteAllText(Path.Combine(folder, Markdown), md.ToString());
        TwinTrain.Data.AtomicFile.WriteAllText(Path.Combine(folder, Html), HtmlPage(html.ToString()));
    }

    static List<(string Title, string Markdown, string Html)> Sections(ComparisonResult result, IReadOnlyList<Listing> listings)
    {
        var sections = new List<(string, string, string)>();
        var config = result.Config.Training;
        var keras = result.Summaries.FirstOrDefault(s => s.Framework == "keras");
        var torch = result.Summaries.FirstOrDefault(s => s.Framework == "torch");

        var model = result.Model;
        string network = model is null ? "The study's CNN"
            : model.IsStudy ? F($"The study's CNN ({model.Parameters:N0} parameters)")
            : F($"The network {model.Arch} ({model.Parameters:N0} parameters, {model.TrainableParameters:N0} trainable)");
        sections.Add(TextSection("Setup", (
            F($"{network} trained {config.Epochs} epoch(s) with batch {config.BatchSize}, ") +
            F($"{(config.Optimizer == "sgd" ? $"SGD (momentum {config.Momentum})" : "Adam")} at learning rate {config.LearningRate}, ") +
            F($"{config.Threads} thread(s), seeds {string.Join(", ", result.Config.Seeds)}, initialisation {config.Init}; ") +
            F($"{result.Data.TrainImages:N0} training and {result.Data.TestImages:N0} test images from {result.Data.Source}. ") +
            F($"Both frameworks saw the same decoded data in the same order per seed, one run after another on {result.Machine.CpuModel} ") +
            F($"({result.Machine.LogicalCores} cores, {result.Machine.OperatingSystem}, {result.Machine.DotNet}). ") +
            (result.WarmupSeconds.Count == 0
                ? "Every run was resumed from an earlier invocation, so no warm-up was needed."
                : "Warm-up before timing (not counted): " + string.Join(", ", result.WarmupSeconds.Select(w => F($"{w.Key} {w.Value:F1} s"))) + "."))));

        var table = new List<string[]>
        {
            new[] { "", "Study: TensorFlow/Keras", "Study: PyTorch", "TwinTrain: keras", "TwinTrain: torch" },
            new[] { "Test accuracy", Percent(StudyKerasAccuracy), Percent(StudyTorchAccuracy),
                keras is null ? "n/a" : Spread(keras), torch is null ? "n/a" : Spread(torch) },
            new[] { "Training time", F($"{StudyKerasSeconds} s"), F($"{StudyTorchSeconds} s"),
                keras is null ? "n/a" : F($"{keras.TrainingSecondsMean:F1} s"), torch is null ? "n/a" : F($"{torch.TrainingSecondsMean:F1} s") },
            new[] { "Seconds per epoch", F($"{StudyKerasSeconds / 10.0:F1}"), F($"{StudyTorchSeconds / 10.0:F1}"),
                keras is null ? "n/a" : F($"{keras.SecondsPerEpochMean:F1}"), torch is null ? "n/a" : F($"{torch.SecondsPerEpochMean:F1}") },
            new[] { "Training images/s", "", "", keras is null ? "n/a" : F($"{keras.ImagesPerSecondMean:N0}"), torch is null ? "n/a" : F($"{torch.ImagesPerSecondMean:N0}") },
            new[] { "Peak memory (process)", "", "", keras is null ? "n/a" : F($"{keras.PeakMemoryBytesMax / 1048576.0:N0} MiB"), torch is null ? "n/a" : F($"{torch.PeakMemoryBytesMax / 1048576.0:N0} MiB") },
            new[] { "Hardware", "Colab GPU", "Colab GPU", "CPU", "CPU" },
        };
        string verdict = result.AccuracyDifference is { } d
            ? F($"Keras-style minus PyTorch-style test accuracy: {100 * d.Difference:+0.00;-0.00} percentage points, 95% confidence interval [{100 * d.Lower:+0.00;-0.00}, {100 * d.Upper:+0.00;-0.00}] (Welch's t = {d.T:F2}, {d.DegreesOfFreedom:F1} degrees of freedom, p = {d.PValue:F3}). ") +
              (d.Significant
                  ? "The difference is statistically significant at the 5% level."
                  : "The difference is not statistically significant at the 5% level: with these seeds the two frameworks cannot be told apart by accuracy.")
            : "Too few completed seeds per framework (two or more are needed) to test whether the accuracy difference is real.";
        var perSeed = result.Runs.Select(r => F($"{r.Framework} seed {r.Seed}: ") +
            (r.Error is not null ? $"failed ({r.Error})"
                : r.Summary is { Status: RunSummary.Diverged } diverged ? $"diverged at {diverged.DivergedAt} (left out of the statistics)"
                : r.Summary?.TestAccuracy is double a ? Percent(a) : r.Summary?.Status ?? "not run"));
        sections.Add(("Results", MarkdownTable(table) + "\n" + verdict + "\n\nPer run: " + string.Join("; ", perSeed) + ".",
            HtmlTable(table) + Paragraph(verdict) + Paragraph("Per run: " + string.Join("; ", perSeed) + ".")));

        sections.Add(TextSection("The study's summed loss", SummedLossNote(result)));
        if (model is not null) sections.Add(ModelSection(model));

        if (model is { IsStudy: false })
        {
            // Not the study's CNN: its hand-written listings do not apply; show what each framework built from the config.
            string structures = "The Keras-style model (Summary()) and the PyTorch-style module built from the same config:";
            sections.Add(("The models, side by side",
                structures + "\n\n```\n" + model.KerasSummary.TrimEnd() + "\n```\n\n```\n" + model.TorchModule + "\n```\n",
                Paragraph(structures) + "<div class=\"listings\"><pre>" + WebUtility.HtmlEncode(model.KerasSummary) + "</pre><pre>" + WebUtility.HtmlEncode(model.TorchModule) + "</pre></div>"));
            return sections;
        }

        var codeMd = new StringBuilder();
        var codeHtml = new StringBuilder("<div class=\"listings\">");
        foreach (var listing in listings)
        {
            codeMd.AppendLine(F($"### {listing.Framework} ({listing.CodeLines} lines of code)")).AppendLine();
            codeHtml.Append(F($"<div><h3>{listing.Framework} ({listing.CodeLines} lines of code)</h3>"));
            foreach (var (file, code) in listing.Files)
            {
                codeMd.AppendLine($"`{file}`").AppendLine().AppendLine("```csharp").Append(code).AppendLine("```").AppendLine();
                codeHtml.Append($"<p><code>{WebUtility.HtmlEncode(file)}</code></p><pre>{WebUtility.HtmlEncode(code)}</pre>");
            }
            codeHtml.Append("</div>");
        }
        codeHtml.Append("</div>");
        sections.Add(("The code, side by side", codeMd.ToString(), codeHtml.ToString()));
        return sections;
    }

    /// <summary>The layer table with parameter counts, and every setting translated between the frameworks or left to defaults that differ.</summary>
    static (string, string, string) ModelSection(ModelDescription model)
    {
        var layers = new List<string[]> { new[] { "Layer", "Class", "Output shape", "Parameters", "Trainable" } };
        layers.AddRange(model.Layers.Select(l => new[] { l.Name, l.Class, l.OutputShape, F($"{l.Parameters:N0}"), F($"{l.TrainableParameters:N0}") }));
        layers.Add(["Total", "", "", F($"{model.Parameters:N0}"), F($"{model.TrainableParameters:N0}")]);
        var translations = new List<string[]> { new[] { "Layer", "Setting", "Keras", "PyTorch", "Note" } };
        translations.AddRange(model.Translations.Select(t => new[] { t.Layer, t.Setting, t.Keras, t.PyTorch, t.Note }));
        string intro = F($"{model.Arch}, defined once as a Keras model config (digest {model.Digest[..12]}) and built by both frameworks.");
        string differ = "What the PyTorch side spells differently, and the defaults the two frameworks differ on (recorded in every run.json):";
        return ("The model",
            intro + "\n\n" + MarkdownTable(layers) + "\n" + differ + "\n\n" + MarkdownTable(translations),
            Paragraph(intro) + HtmlTable(layers) + Paragraph(differ) + HtmlTable(translations));
    }

    /// <summary>A section of plain text: as is in Markdown, one paragraph in HTML.</summary>
    static (string, string, string) TextSection(string title, string text) => (title, text, Paragraph(text));

    static string Spread(FrameworkSummary s) =>
        double.IsNaN(s.TestAccuracyStd) ? Percent(s.TestAccuracyMean) : F($"{100 * s.TestAccuracyMean:F2} ± {100 * s.TestAccuracyStd:F2} % ({s.Runs} seeds)");

    /// <summary>What the study's PyTorch curve showed: the loss summed over the epoch's batches instead of averaged.</summary>
    static string SummedLossNote(ComparisonResult result)
    {
        int steps = (result.Data.TrainImages + result.Config.Training.BatchSize - 1) / result.Config.Training.BatchSize;
        var torchRun = result.Runs.FirstOrDefault(r => r.Framework == "torch" && r.Summary is { History.Count: > 0 })?.Summary;
        string measured = torchRun is null
            ? ""
            : F($" In our torch run (seed {torchRun.Config.Seed}) the first epoch's mean training loss was {torchRun.History[0].Loss:F4}; summed over its {steps} batches, the study's way, it reads {torchRun.History[0].Loss * steps:F1}, and the last epoch's {torchRun.History[^1].Loss:F4} reads {torchRun.History[^1].Loss * steps:F1}.");
        return F($"The study added up PyTorch's batch losses over each epoch while Keras reports their mean, so its PyTorch curve was larger by the number of batches per epoch: {steps} here ({result.Data.TrainImages:N0} images in batches of {result.Config.Training.BatchSize}; 782 for the full training set).") +
            measured + " TwinTrain reports for both frameworks the mean loss per sample over the epoch, so the curves above are comparable.";
    }

    static string Paragraph(string text) => $"<p>{WebUtility.HtmlEncode(text)}</p>";

    static string MarkdownTable(List<string[]> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", rows[0]) + " |");
        text.AppendLine("|" + string.Concat(rows[0].Select(_ => " --- |")));
        foreach (var row in rows.Skip(1)) text.AppendLine("| " + string.Join(" | ", row) + " |");
        return text.ToString();
    }

    static string HtmlTable(List<string[]> rows) =>
        "<table><thead><tr>" + string.Concat(rows[0].Select(c => $"<th>{WebUtility.HtmlEncode(c)}</th>")) + "</tr></thead><tbody>" +
        string.Concat(rows.Skip(1).Select(r => "<tr>" + string.Concat(r.Select(c => $"<td>{WebUtility.HtmlEncode(c)}</td>")) + "</tr>")) +
        "</tbody></table>";

    static string HtmlPage(string body) => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>TwinTrain report</title>
        <style>
        body { font-family: sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; } th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        figure { margin: 1em 0; } img { max-width: 100%; }
        .listings { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
        pre { background: #f6f6f6; padding: 0.7em; overflow-x: auto; font-size: 12px; }
        </style></head><body>
        <h1>TwinTrain: Keras-style vs PyTorch-style on CIFAR-10</h1>
        {{body}}
        </body></html>
        """;
}
