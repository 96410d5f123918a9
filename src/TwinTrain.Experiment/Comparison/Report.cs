using System.Globalization;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;
using TwinTrain.Experiment.Architectures;
using System.Text;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Experiment.Comparison;

/// <summary>
/// Writes report.md, and report.html rendered from it by Markdig (charts embedded, no external references): the
/// study's numbers beside ours, what can be concluded (paired and Welch tests, equivalence at the margin, bootstrap,
/// time to accuracy), the defaults that differ and what aligning each changes, whether the engines compute the same
/// thing, how quiet the machine was, the charts, and the two code listings side by side.
/// </summary>
public static class Report
{
    public const string Markdown = "report.md";
    public const string Html = "report.html";

    const double StudyKerasAccuracy = 0.6878, StudyTorchAccuracy = 0.6895, StudyKerasSeconds = 715, StudyTorchSeconds = 723;

    static string Percent(double value) => double.IsNaN(value) ? "n/a" : F($"{100 * value:F2} %");
    static string Points(double fraction) => F($"{100 * fraction:+0.00;-0.00}");

    static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().Build();

    public static void Write(ComparisonResult result, string folder, IReadOnlyList<string> charts, IReadOnlyList<Listing> listings)
    {
        string markdown = MarkdownText(result, charts, listings);
        TwinTrain.Data.AtomicFile.WriteAllText(Path.Combine(folder, Markdown), markdown);
        TwinTrain.Data.AtomicFile.WriteAllText(Path.Combine(folder, Html), HtmlPage(ToHtml(markdown, folder)));
    }

    /// <summary>Where a pair computes more than rounding apart, the command that finds the layer where they part (for the frameworks diff can look inside).</summary>
    /// <summary>With more classes than a chart can name, the worst and best ones in words (the per-class chart shows them).</summary>
    static string Extremes(ComparisonResult result)
    {
        var perClass = Charts.PerClass(result);
        var classes = result.Data.ClassNames;
        if (perClass.Count == 0 || classes.Count <= Charts.LabelledClasses) return "";
        var shown = Charts.ShownClasses(perClass);
        string List(IEnumerable<int> chosen) => string.Join(", ", chosen.Select(c =>
            $"{classes[c]} ({string.Join(" / ", perClass.Select(f => F($"{f.Accuracy[c]:F0}")))})"));
        return $"Of the {classes.Count} classes, the {Charts.ExtremeClasses} hardest (accuracy % for {string.Join(" / ", perClass.Select(f => f.Framework))}): " +
            List(shown.Take(Charts.ExtremeClasses)) + $"; the {Charts.ExtremeClasses} easiest: " + List(shown.Skip(Charts.ExtremeClasses).Reverse()) + ".\n\n";
    }

    internal static string DiffPointer(SameMathsResult pair)
    {
        if (pair.Same) return "";
        var inside = new[] { pair.A, pair.B }.Where(f => Diff.LayerDiff.LayerByLayerFrameworks.Contains(f)).ToList();
        return inside.Count == 0 ? ""
            : $" `twintrain diff --arch {pair.Architecture} --frameworks {string.Join(",", inside)}{(Architectures.Architecture.HasBatchNormalization(pair.Architecture) ? " --align bn" : "")}` shows the first layer where {(inside.Count == 2 ? "they part" : inside[0] + " parts from a float64 reference")}, forward and backward.";
    }

    /// <summary>The report as Markdown: sections in order, the charts after the results (the same-maths chart in its section).</summary>
    public static string MarkdownText(ComparisonResult result, IReadOnlyList<string> charts, IReadOnlyList<Listing> listings)
    {
        var md = new StringBuilder();
        var names = result.Config.Frameworks;
        string dataset = result.Data.Title ?? Data.DatasetInfo.Named(result.Data.Dataset)?.Title ?? result.Data.Dataset;
        md.AppendLine(names.SequenceEqual(["keras", "torch"]) ? $"# TwinTrain: Keras-style vs PyTorch-style on {dataset}"
            : $"# TwinTrain: {string.Join(" vs ", names)} on {dataset}").AppendLine();
        if (result.Partial is { } partial) md.AppendLine($"**Partial report** ({partial}): the figures cover the runs that have ended.").AppendLine();
        foreach (var (title, body) in Sections(result, charts, listings))
            md.AppendLine($"## {title}").AppendLine().AppendLine(body.TrimEnd()).AppendLine();
        return md.ToString();
    }

    /// <summary>Markdown to HTML with Markdig; each chart's PNG is embedded as a data URI so the page stands alone.</summary>
    static string ToHtml(string markdown, string folder)
    {
        var document = Markdig.Markdown.Parse(markdown, Pipeline);
        foreach (var image in document.Descendants<LinkInline>().Where(l => l.IsImage && l.Url is not null && l.Url.StartsWith("charts/", StringComparison.Ordinal)))
        {
            string path = Path.Combine(folder, image.Url!);
            if (File.Exists(path)) image.Url = "data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes(path));
        }
        using var writer = new StringWriter();
        var renderer = new Markdig.Renderers.HtmlRenderer(writer);
        Pipeline.Setup(renderer);
        renderer.Render(document);
        return writer.ToString();
    }

    static List<(string Title, string Body)> Sections(ComparisonResult result, IReadOnlyList<string> charts, IReadOnlyList<Listing> listings)
    {
        var sections = new List<(string, string)>();
        var config = result.Config.Training;
        var model = result.Model;
        string network = model is null ? "The study's CNN"
            : model.IsStudy ? F($"The study's CNN ({model.Parameters:N0} parameters)")
            : F($"The network {model.Arch} ({model.Parameters:N0} parameters, {model.TrainableParameters:N0} trainable)");
        var machines = result.Runs.Where(r => r.Summary is not null).Select(r => r.Summary!.Machine.CpuModel).Distinct().ToList();
        string aligned = result.Config.Ablate ? "each condition of the ablation (below); the headline figures have nothing aligned"
            : result.Main is { Aligned.Count: > 0 } m ? "aligned: " + string.Join(", ", m.Aligned) : "each framework's own defaults (nothing aligned)";
        sections.Add(("Setup",
            F($"{network} trained {config.Epochs} epoch(s) with batch {config.BatchSize}, ") +
            F($"{(config.Optimizer == TrainingOptimizer.Sgd ? $"SGD (momentum {config.Momentum})" : "Adam")} at learning rate {config.LearningRate}, ") +
            F($"{config.Threads} thread(s), seeds {string.Join(", ", result.Config.Seeds)}, {aligned}; ") +
            F($"{result.Data.TrainImages:N0} training and {result.Data.TestImages:N0} test images from {result.Data.Source}. ") +
            F($"Every framework ({string.Join(", ", result.Config.Frameworks)}) saw the same decoded data in the same order per seed, one run after the other, the first alternating from seed to seed so that drift favours neither, ") +
            F($"on {(machines.Count > 1 ? $"{machines.Count} machines ({string.Join("; ", machines)})" : machines.FirstOrDefault() ?? result.Machine.CpuModel)} ({result.Machine.OperatingSystem}, {result.Machine.DotNet}). ") +
            (result.WarmupSeconds.Count == 0
                ? "No warm-up was recorded (every run was resumed, or the report was rebuilt from run folders)."
                : "Warm-up before timing (not counted): " + string.Join(", ", result.WarmupSeconds.Select(w => F($"{w.Key} {w.Value:F1} s"))) + ".")));

        // The study's two columns, then one per framework compared.
        var ours = result.Config.Frameworks.Select(f => result.Summaries.FirstOrDefault(s => s.Framework == f)).ToList();
        string[] Row(string label, string studyKeras, string studyTorch, Func<FrameworkSummary, string> value) =>
            [label, studyKeras, studyTorch, .. ours.Select(s => s is null ? "n/a" : value(s))];
        var table = new List<string[]>
        {
            new[] { "", "Study: TensorFlow/Keras", "Study: PyTorch" }.Concat(result.Config.Frameworks.Select(f => $"TwinTrain: {f}")).ToArray(),
            Row("Test accuracy", Percent(StudyKerasAccuracy), Percent(StudyTorchAccuracy), Spread),
            Row("Training time", F($"{StudyKerasSeconds} s"), F($"{StudyTorchSeconds} s"), s => F($"{s.TrainingSecondsMean:F1} s")),
            Row("Seconds per epoch", F($"{StudyKerasSeconds / 10.0:F1}"), F($"{StudyTorchSeconds / 10.0:F1}"), s => F($"{s.SecondsPerEpochMean:F1}")),
            Row("Training images/s", "", "", s => F($"{s.ImagesPerSecondMean:N0}")),
            Row("Memory the run needed", "", "", s => s.RunMemoryBytesMax is long own ? F($"{own / 1048576.0:N0} MiB ({s.RunMemoryMeasure})") : "not measured"),
            Row("Peak memory of its process", "", "", s => F($"{s.PeakMemoryBytesMax / 1048576.0:N0} MiB")),
            Row("Hardware", "Colab GPU", "Colab GPU", _ => "CPU"),
        };
        // The study's columns are CIFAR-10's: beside another data set's results they would read as a comparison.
        if (!result.Data.IsStudysDataset) table = [.. table.Select(row => (string[])[row[0], .. row[3..]])];
        var perRun = result.MainRuns.Select(r => F($"{r.Framework} seed {r.Seed}: ") +
            (r.Error is not null ? $"failed ({r.Error})"
                : r.Summary is { Status: RunSummary.Diverged } diverged ? $"diverged at {diverged.DivergedAt}{(diverged.DivergedBecause is { } why ? $" ({why})" : "")} (left out of the statistics)"
                : r.Summary?.TestAccuracy is double a ? Percent(a) + (r.Summary.Load?.Disturbed == true ? " (machine busy: timings not representative)" : "") : r.Summary?.Status ?? "not run"));
        string divergence = result.Runs.Any(r => r.Summary?.Status == RunSummary.Diverged) ? " " + RunSummary.DivergenceRule(result.Data.ClassNames.Count) : "";
        sections.Add(("Results", MarkdownTable(table) + "\nPer run: " + string.Join("; ", perRun) + "." + divergence + "\n\n" + Extremes(result) +
            string.Concat(charts.Where(c => c != Charts.SameMathsChart).Select(c => $"![{c}](charts/{c}.png)\n\n"))));
        sections.Add(("What can be concluded", Conclusions(result)));
        sections.Add(("Defaults that differ", DefaultsThatDiffer(result)));
        if (result.Factors.Count > 0) sections.Add(("What each default explains (ablation)", Ablation(result)));
        sections.Add(("Do the engines compute the same thing?", result.SameMaths is { Count: > 0 } same
            ? string.Join("\n\n", same.Select(pair => pair.Sentence() + DiffPointer(pair))) + (charts.Contains(Charts.SameMathsChart) ? $"\n\n![{Charts.SameMathsChart}](charts/{Charts.SameMathsChart}.png)" : "")
            : "Not measured for this report (it is measured at the end of a plain `compare`, and by `twintrain report` when the data is reachable)."));
        sections.Add(("Timings a reader can trust", Timings(result)));
        sections.Add(("The study's summed loss", SummedLossNote(result)));
        if (model is not null) sections.Add(ModelSection(model));

        if (model is { IsStudy: false })
        {
            // Not the study's CNN: its hand-written listings do not apply; show what each framework built from the config.
            sections.Add(("The models, side by side",
                "The Keras-style model (Summary()) and the PyTorch-style module built from the same config:\n\n<div class=\"listings\">\n<div>\n\n```\n" +
                model.KerasSummary.TrimEnd() + "\n```\n\n</div>\n<div>\n\n```\n" + model.TorchModule + "\n```\n\n</div>\n</div>\n"));
            return sections;
        }

        // Two columns in HTML (Markdown inside HTML blocks needs the blank lines), one after the other in Markdown viewers.
        var code = new StringBuilder("<div class=\"listings\">\n");
        foreach (var listing in listings)
        {
            code.AppendLine("<div>").AppendLine().AppendLine(F($"### {listing.Framework} ({listing.CodeLines} lines of code)")).AppendLine();
            foreach (var (file, text) in listing.Files)
                code.AppendLine($"`{file}`").AppendLine().AppendLine("```" + listing.Language).Append(text).AppendLine("```").AppendLine();
            code.AppendLine("</div>");
        }
        code.AppendLine("</div>");
        sections.Add(("The code, side by side", code.ToString()));
        return sections;
    }

    /// <summary>The tests of the accuracy difference, the verdict, and the times to accuracy.</summary>
    static string Conclusions(ComparisonResult result)
    {
        var text = new StringBuilder();
        if (result.Pairs.Count == 0)
        {
            text.AppendLine(result.Summaries.Count < 2
                ? F($"No comparison: {(result.Summaries.Count == 0 ? "no framework" : $"only {result.Summaries[0].Framework}")} completed a run; a comparison needs two frameworks.")
                : "Too few completed seeds per framework (two or more are needed) to test whether the accuracy difference is real.").AppendLine();
        }
        if (result.Pairs.Count > 1)
        {
            var names = result.Config.Frameworks;
            text.AppendLine(F($"Every pair of the {names.Count} frameworks, paired by seed; p-values (difference and equivalence) Holm-adjusted over the {result.Pairs.Count} pairs, so that the chance of any false verdict stays at 5%:")).AppendLine()
                .Append(MarkdownTable(SummaryTable.PairMatrix(result))).AppendLine();
        }
        foreach (var c in result.Pairs)
        {
            if (result.Pairs.Count > 1) text.AppendLine(F($"### {c.A} − {c.B}")).AppendLine();
            text.AppendLine(F($"**{c.Verdict}**")).AppendLine();
            var rows = new List<string[]> { new[] { F($"{c.A} − {c.B} (test accuracy, points)"), "Difference", "95% interval", "t", "df", "p" } };
            if (c.Paired is { } p) rows.Add([F($"Paired by seed ({p.Pairs} pairs)"), Points(p.Difference), F($"[{Points(p.Lower)}, {Points(p.Upper)}]"), F($"{p.T:F2}"), F($"{p.DegreesOfFreedom:F0}"),
                c.Comparisons > 1 ? F($"{p.PValue:F3} (Holm {c.DifferenceP:F3})") : F($"{p.PValue:F3}")]);
            if (c.Welch is { } w) rows.Add(["Welch (unpaired)", Points(w.Difference), F($"[{Points(w.Lower)}, {Points(w.Upper)}]"), F($"{w.T:F2}"), F($"{w.DegreesOfFreedom:F1}"), F($"{w.PValue:F3}")]);
            if (c.Bootstrap is { Reliable: true } b) rows.Add([F($"Bootstrap ({b.Resamples:N0} resamples of the {b.Samples} {(b.Paired ? "pairs" : "runs")})"), "", F($"[{Points(b.Lower)}, {Points(b.Upper)}]"), "", "", ""]);
            else if (c.Bootstrap is { } few) rows.Add([F($"Bootstrap: left out ({few.Samples} {(few.Paired ? "pairs" : "runs")}, {few.DistinctResamples:N0} distinct resamples; too few below {Statistics.BootstrapMinimumSamples})"), "", "", "", "", ""]);
            text.Append(MarkdownTable(rows)).AppendLine();
            if (c.Equivalence is { } e)
                text.AppendLine(F($"Equivalence (TOST) at ±{100 * e.Margin:0.0##} points, {(e.Paired ? "paired" : "Welch")}: one-sided p-values {e.PLower:F3} (difference > −margin) and {e.PUpper:F3} (difference < +margin), 90% interval [{Points(e.Lower90)}, {Points(e.Upper90)}]. ") +
                    SummaryTable.SuperiorityLine(c) + ".").AppendLine();
        }
        if (result.Pairs.Count > 0)
            text.AppendLine("A difference that is not significant does not show the frameworks equivalent; only the equivalence test can, against a margin chosen beforehand (`--margin`).").AppendLine();
        var times = result.Main?.TimeToAccuracy ?? [];
        if (times.Count > 0)
        {
            var rows = new List<string[]> { new[] { "Time to test accuracy (training seconds)", "Framework", "Mean ± std", "Runs that reached it" } };
            rows.AddRange(times.Select(t => new[] { F($"{100 * t.Target:0.#} %"), t.Framework,
                t.Reached == 0 ? "not reached" : double.IsNaN(t.StdSeconds) ? F($"{t.MeanSeconds:F1} s") : F($"{t.MeanSeconds:F1} ± {t.StdSeconds:F1} s"), F($"{t.Reached} of {t.Runs}") }));
            text.AppendLine("Seconds of training (evaluation not counted) until the test accuracy, measured after each epoch, first reached each level (what MLPerf and DAWNBench measure):").AppendLine().Append(MarkdownTable(rows));
            if (result.Disturbed.Count > 0) text.AppendLine().AppendLine("Some runs were timed on a busy machine (see the timings section): their times to accuracy are not representative.");
        }
        return text.ToString();
    }

    /// <summary>Each framework's settings as it ran (from run.json), side by side, differences first.</summary>
    static string DefaultsThatDiffer(ComparisonResult result)
    {
        var names = result.Config.Frameworks;
        var first = names.Select(f => result.MainRuns.FirstOrDefault(r => r.Framework == f && r.Summary?.Settings is not null)?.Summary).ToList();
        var present = names.Zip(first).Where(p => p.Second is not null).ToList();
        if (present.Count < 2) return "Not recorded (the runs are from before settings were recorded, or fewer than two frameworks ran).";
        var keys = present.SelectMany(p => p.Second!.Settings!.Select(s => (s.Scope, s.Setting))).Distinct().ToList();
        string Value(IReadOnlyList<Frameworks.FrameworkSetting> settings, (string Scope, string Setting) key) =>
            settings.FirstOrDefault(s => s.Scope == key.Scope && s.Setting == key.Setting)?.Value ?? "—";
        var rows = keys.Select(k => (k, Values: present.Select(p => Value(p.Second!.Settings!, k)).ToArray()))
            .OrderBy(r => r.Values.Distinct().Count() == 1).ToList();
        var table = new List<string[]> { new[] { "Where", "Setting" }.Concat(present.Select(p => p.First)).Append("Same?").ToArray() };
        table.AddRange(rows.Select(r => new[] { r.k.Scope, r.k.Setting }.Concat(r.Values).Append(r.Values.Distinct().Count() == 1 ? "same" : "**differs**").ToArray()));
        return "What each framework actually ran with, read from its built model and optimizer and recorded in every run.json " +
            F($"(the runs of seed {present[0].Second!.Config.Seed}: {string.Join(", ", present.Select(p => p.First))}). `--align init`, `--align epsilon` or `--align all` removes the differences that can be removed; `--ablate` measures what each explains.") +
            "\n\n" + MarkdownTable(table);
    }

    static string Ablation(ComparisonResult result)
    {
        var names = result.Config.Frameworks;
        var rows = new List<string[]> { new[] { "Pair", "Aligned", "Seeds", "Effect on the accuracy gap (points, 95% CI)", "Effect on the final training loss gap (95% CI)" } };
        rows.AddRange(result.Factors.Select(f => new[] { F($"{f.A} − {f.B}"), f.Condition, F($"{f.Seeds}"), SummaryTable.Effect(100 * f.AccuracyGap, f.OnAccuracyGap, 100, 2), SummaryTable.Effect(f.LossGap, f.OnLossGap, 1, 4) }));
        var conditions = new List<string[]> { new[] { "Condition" }.Concat(names).Concat(result.Pairs.Select(c => F($"{c.A} − {c.B}"))).ToArray() };
        foreach (var c in result.Conditions)
        {
            string Of(string name) => c.Summaries.FirstOrDefault(s => s.Framework == name) is { } s ? Spread(s) : "n/a";
            conditions.Add([c.Condition, .. names.Select(Of), .. result.Pairs.Select(pair => c.Pairs.FirstOrDefault(x => x.A == pair.A && x.B == pair.B) is { Main: { } t } x
                ? F($"{Points(t.Difference)} [{Points(t.Lower)}, {Points(t.Upper)}] ({x.Outcome})") : "n/a")]);
        }
        return "Every seed was trained under each condition: nothing aligned, each default aligned alone, and all together. " +
            "The effect of a condition on a pair is the pair's gap under it minus the gap with nothing aligned, paired by seed; an interval that excludes zero means that default explains part of the gap." +
            "\n\n" + MarkdownTable(rows) + "\n" + MarkdownTable(conditions);
    }

    /// <summary>How busy the machine was during each run, and which figures a busy machine affects.</summary>
    static string Timings(ComparisonResult result)
    {
        var rows = new List<string[]> { new[] { "Run", "Other processes (cores)", "Steal (cores)", "Load average (max)", "Threads", "Timings" } };
        foreach (var run in result.Runs.Where(r => r.Summary?.Load is not null))
        {
            var load = run.Summary!.Load!;
            rows.Add([Path.GetFileName(run.Folder), F($"{load.OtherCores:F2}"), F($"{load.StealCores:F2}"), F($"{load.LoadAverageMax:F2}"), F($"{load.Threads}"), load.Disturbed ? "**disturbed**" : "quiet"]);
        }
        string intro = "While each run trained, TwinTrain measured the CPU time other processes took (from /proc/stat, less its own), the time the hypervisor stole, and the load average. " +
            F($"A run is marked disturbed when others took {Reporting.MachineLoad.DisturbedCores:F1} cores or more on average beyond the cores it left free: its training time, seconds per epoch, images per second and times to accuracy are then not representative; accuracy and loss are not affected.");
        var warnings = SummaryTable.DisturbedLines(result).ToList();
        return intro + "\n\n" + (rows.Count > 1 ? MarkdownTable(rows) + "\n" : "No load was recorded (runs from before load recording, or not Linux).\n\n") + string.Join("\n", warnings.Select(w => w.TrimStart())) + "\n";
    }

    /// <summary>The layer table with parameter counts, and every setting translated between the frameworks or left to defaults that differ.</summary>
    static (string, string) ModelSection(ModelDescription model)
    {
        var layers = new List<string[]> { new[] { "Layer", "Class", "Output shape", "Parameters", "Trainable" } };
        layers.AddRange(model.Layers.Select(l => new[] { l.Name, l.Class, l.OutputShape, F($"{l.Parameters:N0}"), F($"{l.TrainableParameters:N0}") }));
        layers.Add(["Total", "", "", F($"{model.Parameters:N0}"), F($"{model.TrainableParameters:N0}")]);
        var translations = new List<string[]> { new[] { "Layer", "Setting", "Keras", "PyTorch", "Note" } };
        translations.AddRange(model.Translations.Select(t => new[] { t.Layer, t.Setting, t.Keras, t.PyTorch, t.Note }));
        return ("The model",
            F($"{model.Arch}, defined once as a Keras model config (digest {model.Digest[..12]}) and built by both frameworks.") + "\n\n" + MarkdownTable(layers) +
            "\nWhat the PyTorch side spells differently (the defaults each framework ran with are in *Defaults that differ*):\n\n" + MarkdownTable(translations));
    }

    static string Spread(FrameworkSummary s) =>
        double.IsNaN(s.TestAccuracyStd) ? Percent(s.TestAccuracyMean) : F($"{100 * s.TestAccuracyMean:F2} ± {100 * s.TestAccuracyStd:F2} % ({s.Runs} seeds)");

    /// <summary>What the study's PyTorch curve showed: the loss summed over the epoch's batches instead of averaged.</summary>
    static string SummedLossNote(ComparisonResult result)
    {
        int steps = (result.Data.TrainImages + result.Config.Training.BatchSize - 1) / result.Config.Training.BatchSize;
        // A PyTorch-style run (TorchSharp's, or the real PyTorch's), whose loss the study summed.
        var torchRun = result.Runs.FirstOrDefault(r => r.Framework is "torch" or "pytorch" && r.Summary is { History.Count: > 0 })?.Summary;
        string measured = torchRun is null
            ? ""
            : F($" In our {torchRun.Framework} run (seed {torchRun.Config.Seed}) the first epoch's mean training loss was {torchRun.History[0].Loss:F4}; summed over its {steps} batches, the study's way, it reads {torchRun.History[0].Loss * steps:F1}, and the last epoch's {torchRun.History[^1].Loss:F4} reads {torchRun.History[^1].Loss * steps:F1}.");
        return F($"The study added up PyTorch's batch losses over each epoch while Keras reports their mean, so its PyTorch curve was larger by the number of batches per epoch: {steps} here ({result.Data.TrainImages:N0} images in batches of {result.Config.Training.BatchSize}; 782 for the full training set).") +
            measured + " TwinTrain reports for both frameworks the mean loss per sample over the epoch, so the curves above are comparable.";
    }

    /// <summary>A pipe table; a '|' inside a cell is escaped.</summary>
    static string MarkdownTable(IReadOnlyList<string[]> rows)
    {
        var text = new StringBuilder();
        rows = [.. rows.Select(r => r.Select(c => c.Replace("|", "\\|")).ToArray())];
        text.AppendLine("| " + string.Join(" | ", rows[0]) + " |");
        text.AppendLine("|" + string.Concat(rows[0].Select(_ => " --- |")));
        foreach (var row in rows.Skip(1)) text.AppendLine("| " + string.Join(" | ", row) + " |");
        return text.ToString();
    }

    static string HtmlPage(string body) => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>TwinTrain report</title>
        <style>
        body { font-family: sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; } th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        figure { margin: 1em 0; } img { max-width: 100%; }
        .listings { display: grid; grid-template-columns: repeat(auto-fit, minmax(30em, 1fr)); gap: 1em; }
        pre { background: #f6f6f6; padding: 0.7em; overflow-x: auto; font-size: 12px; }
        </style></head><body>
        {{body}}
        </body></html>
        """;
}
