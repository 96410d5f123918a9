using System.Text;
using ScottPlot;
using TwinTrain.Experiment.Comparison;
using TwinTrain.Experiment.Reporting;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Experiment.Diff;

/// <summary>`twintrain diff`'s outputs: the table per layer (terminal and diff.md), diff.json, and the charts.</summary>
public static class DiffReport
{
    public const string Json = "diff.json", Markdown = "diff.md", LayersChart = "diff-layers", DriftChart = "diff-drift";

    /// <summary>Writes diff.json, diff.md and the charts (PNG and SVG) into <paramref name="folder"/>, each atomically; returns the files written.</summary>
    public static IReadOnlyList<string> Write(DiffResult result, string folder)
    {
        Directory.CreateDirectory(folder);
        RunFiles.WriteJson(Path.Combine(folder, Json), result);
        var charts = new List<string> { LayersChart };
        Charts.SaveBoth(Layers(result), folder, LayersChart);
        if (result.Steps > 1)
        {
            Charts.SaveBoth(Drift(result), folder, DriftChart);
            charts.Add(DriftChart);
        }
        RunFiles.WriteAtomically(Path.Combine(folder, Markdown), ToMarkdown(result, charts));
        return [Json, Markdown, .. charts.SelectMany(c => new[] { c + ".png", c + ".svg" })];
    }

    /// <summary>The table per framework, as the terminal shows it.</summary>
    public static string Format(DiffResult result)
    {
        var text = new StringBuilder();
        foreach (string framework in result.Frameworks)
        {
            var rows = result.RowsOf(framework).ToList();
            int width = Math.Max(24, rows.Max(r => r.Layer.Length + r.Class.Length + 3));
            text.AppendLine($"{framework} against the reference ({result.Reference}); relative RMS errors, own = the layer fed the reference's input and upstream gradient:");
            text.AppendLine($"  {"layer".PadRight(width)}  {"output",-8} {"own",-8} {"bound",-8}  {"∂input",-8} {"own",-8} {"bound",-8}  {"∂weights own/bound",-22} {"jump",-8}  verdict");
            foreach (var row in rows)
            {
                var (output, input) = (row.Output, row.Tensors[1]);
                var worst = row.Tensors.Skip(2).MaxBy(t => t.Verdict == DiffVerdict.Noise ? -1 : t.Isolated / t.Bound);
                string weights = worst is null ? "" : $"{Short(worst.Tensor)} {E(worst.Isolated)}/{E(worst.Bound)}";
                text.AppendLine($"  {(row.Layer + " (" + row.Class + ")").PadRight(width)}  {E(output.Chained),-8} {E(output.Isolated),-8} {E(output.Bound),-8}  " +
                    $"{E(input.Chained),-8} {E(input.Isolated),-8} {E(input.Bound),-8}  {weights,-22} {(double.IsNaN(row.JumpRate) ? "" : F($"{row.JumpRate:0.0E+0}")),-8}  {Verdict(row)}");
            }
            text.AppendLine();
        }
        text.AppendLine(result.Sentence());
        return text.ToString();
    }

    static string Short(string tensor) => tensor.Replace(" gradient", "", StringComparison.Ordinal);

    static string E(double value) => double.IsNaN(value) ? "" : double.IsPositiveInfinity(value) ? "inf" : value == 0 ? "0" : F($"{value:0.0E+0}");

    /// <summary>"within", "beyond: output" (the tensors past their bound), with "noise: bias" where a float32 result has no correct digit.</summary>
    public static string Verdict(LayerDiffRow row)
    {
        var beyond = row.Tensors.Where(t => t.Verdict == DiffVerdict.Beyond).Select(t => Short(t.Tensor)).ToList();
        var noise = row.Tensors.Where(t => t.Verdict == DiffVerdict.Noise).Select(t => Short(t.Tensor)).ToList();
        string verdict = beyond.Count == 0 ? "within" : "BEYOND: " + string.Join(", ", beyond);
        return noise.Count == 0 ? verdict : $"{verdict} (noise around 0: {string.Join(", ", noise)})";
    }

    public static string ToMarkdown(DiffResult result, IReadOnlyList<string> charts)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Where the frameworks part: {result.Architecture}, {string.Join(" vs ", result.Frameworks)} (aligned: {result.Condition})");
        md.AppendLine();
        md.AppendLine(result.Sentence());
        md.AppendLine();
        md.AppendLine("Errors are relative RMS errors against the reference, ‖x − ref‖ / ‖ref‖. *Chained*: the framework runs its whole network, " +
            "so a layer's error includes what it inherits. *Own*: the layer alone, fed the reference's input and upstream gradient. " +
            "*Bound*: what float32 rounding allows, from the float32 reference's own error. *Jump*: LEMON's rate (δ − δ_prev) / (δ_prev + 1e-7) of the chained output error.");
        foreach (string framework in result.Frameworks)
        {
            md.AppendLine();
            md.AppendLine($"## {framework}");
            md.AppendLine();
            md.AppendLine("| layer | tensor | values | chained | own | float32 reference | bound | verdict |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
            foreach (var row in result.RowsOf(framework))
                foreach (var t in row.Tensors)
                    md.AppendLine($"| {(t == row.Tensors[0] ? $"{row.Layer} ({row.Class})" : "")} | {t.Tensor} | {t.Values:N0} | {E(t.Chained)} | {E(t.Isolated)} | {E(t.Float32)} | {E(t.Bound)} | {Word(t.Verdict)} |");
        }
        if (result.Steps > 1)
        {
            md.AppendLine();
            md.AppendLine(F($"## Over {result.Steps} steps of SGD (learning rate {result.LearningRate})"));
            md.AppendLine();
            md.AppendLine("Each framework trains its own weights from the same start; the reference trains its own in float64. Chained output error per layer at the first and the last step:");
            md.AppendLine();
            md.AppendLine("| framework | layer | output, step 1 | output, last step | ∂input, step 1 | ∂input, last step |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
            foreach (var d in result.Drift)
                md.AppendLine($"| {d.Framework} | {d.Layer} | {E(d.Output[0])} | {E(d.Output[^1])} | {E(d.InputGradient[0])} | {E(d.InputGradient[^1])} |");
            foreach (var a in result.Apart) md.AppendLine(F($"| {a.A} − {a.B} | logits, last step | | {E(a.Error)} | | |"));
            md.AppendLine();
            md.AppendLine("The weights after the last step (moving statistics included), against the reference's:");
            md.AppendLine();
            md.AppendLine("| framework | layer | weight | error |");
            md.AppendLine("| --- | --- | --- | ---: |");
            foreach (var w in result.Weights) md.AppendLine($"| {w.Framework} | {w.Layer} | {w.Weight} | {(w.Noise ? "noise around an exact 0" : E(w.Error))} |");
        }
        md.AppendLine();
        foreach (string chart in charts) md.AppendLine($"![{chart}]({chart}.png)");
        return md.ToString();
    }

    static string Word(DiffVerdict verdict) => verdict switch
    {
        DiffVerdict.Beyond => "**beyond rounding**",
        DiffVerdict.Noise => "noise around an exact 0",
        _ => "within rounding",
    };

    static double Log(double value) => Math.Log10(Math.Max(value, 1e-12));

    /// <summary>The left axis over whole decades around the plotted log10 values, with ticks at round values.</summary>
    static void LogAxis(Plot plot, IEnumerable<double> logValues)
    {
        var values = logValues.ToList();
        double low = Math.Floor(values.Min()), high = Math.Ceiling(values.Max());
        var (ticks, labels) = Charts.LogTicks(low, high);
        plot.Axes.Left.SetTicks(ticks, labels);
        plot.Axes.SetLimitsY(low - 0.2, high + 0.2);
    }

    /// <summary>Per layer, each framework's chained (thick) and own (thin, open circles) output error, and the rounding bound (grey).</summary>
    internal static Plot Layers(DiffResult result)
    {
        var plot = new Plot();
        var first = result.RowsOf(result.Frameworks[0]).ToList();
        double[] positions = [.. first.Select(r => (double)r.Index)];
        foreach (string framework in result.Frameworks)
        {
            var rows = result.RowsOf(framework).ToList();
            var chained = plot.Add.Scatter(positions, rows.Select(r => Log(r.Output.Chained)).ToArray());
            chained.Color = Charts.ColorOf(framework);
            chained.LineWidth = 2;
            chained.LegendText = $"{framework}, chained";
            var own = plot.Add.Scatter(positions, rows.Select(r => Log(r.Output.Isolated)).ToArray());
            // Told apart by width and marker, not by a dash pattern (SkiaSharp's SVG canvas has no path effects).
            own.Color = Charts.ColorOf(framework).WithAlpha(0.6);
            own.LineWidth = 1;
            own.MarkerShape = MarkerShape.OpenCircle;
            own.MarkerSize = 8;
            own.LegendText = $"{framework}, the layer's own";
        }
        var bound = plot.Add.Scatter(positions, first.Select(r => Log(r.Output.Bound)).ToArray());
        bound.Color = Color.FromHex("#999999");
        bound.LineWidth = 4;
        bound.LegendText = "float32 rounding's bound";
        LogAxis(plot, result.Rows.SelectMany(r => new[] { Log(r.Output.Chained), Log(r.Output.Isolated), Log(r.Output.Bound) }));
        plot.Axes.Bottom.SetTicks(positions, [.. first.Select(r => r.Layer)]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Axes.Bottom.MinimumSize = 150;
        plot.Title($"Output error per layer against the float64 reference ({result.Architecture}, aligned: {result.Condition})");
        plot.YLabel("Relative RMS error (log scale)");
        plot.ShowLegend(Edge.Bottom);
        return plot;
    }

    /// <summary>Per framework, the logits' chained error at each step of training.</summary>
    internal static Plot Drift(DiffResult result)
    {
        var plot = new Plot();
        var values = new List<double>();
        foreach (string framework in result.Frameworks)
        {
            var logits = result.Drift.Last(d => d.Framework == framework);
            double[] errors = [.. logits.Output.Select(Log)];
            values.AddRange(errors);
            var line = plot.Add.Scatter(Enumerable.Range(1, errors.Length).Select(s => (double)s).ToArray(), errors);
            line.Color = Charts.ColorOf(framework);
            line.LineWidth = 2;
            line.LegendText = $"{framework}: {logits.Layer} (logits)";
        }
        LogAxis(plot, values);
        plot.Title(F($"Drift over {result.Steps} SGD steps (learning rate {result.LearningRate})"));
        plot.XLabel("Step");
        plot.YLabel("Relative RMS error of the logits (log scale)");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }
}
