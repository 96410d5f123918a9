using ScottPlot;
using TwinTrain.Data;

namespace TwinTrain.Experiment.Comparison;

/// <summary>
/// The comparison's figures, each as PNG and SVG: accuracy and loss per epoch (mean over seeds with a band of ±1
/// standard deviation; training dashed, validation solid), the loss on a log scale, seconds per epoch, and per
/// framework a confusion matrix, plus per-class accuracy side by side.
/// </summary>
public static class Charts
{
    /// <summary>The size every chart is written at, which the report shows.</summary>
    internal const int Width = 900, Height = 560;

    static readonly Dictionary<string, Color> Colors = new()
    {
        ["keras"] = Color.FromHex("#D95F02"),
        ["torch"] = Color.FromHex("#1B6FB3"),
        ["pytorch"] = Color.FromHex("#7B3294"),
    };

    /// <summary>Colours for frameworks without one of their own (Dark2, after the named ones), by position.</summary>
    static readonly string[] Spare = ["#1B9E77", "#E7298A", "#66A61E", "#E6AB02", "#A6761D"];

    internal static Color ColorOf(string framework) => Colors.TryGetValue(framework, out var color) ? color
        : Color.FromHex(Spare[(int)((uint)framework.GetHashCode(StringComparison.Ordinal) % Spare.Length)]);

    /// <summary>Writes every chart into <paramref name="folder"/>; returns the base names (without extension).</summary>
    public static IReadOnlyList<string> Write(ComparisonResult result, string folder)
    {
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        void Save(Plot plot, string name, int width = Width, int height = Height)
        {
            SaveBoth(plot, folder, name, width, height);
            written.Add(name);
        }

        Save(Curves(result, "accuracy", "Accuracy", logScale: false, percent: true), "accuracy");
        Save(Curves(result, "loss", "Loss (mean cross-entropy per sample)", logScale: false, percent: false), "loss");
        Save(LossLog(result), "loss-log");
        Save(EpochSeconds(result), "epoch-seconds");
        foreach (var (framework, matrix) in ConfusionMatrices(result))
            Save(Confusion(framework, matrix, result.Data.ClassNames), $"confusion-{framework}",
                result.Data.ClassNames.Count > LabelledClasses ? 1000 : 760, result.Data.ClassNames.Count > LabelledClasses ? 900 : 660);
        if (ConfusionMatrices(result).Count > 0) Save(PerClassAccuracy(result), "per-class-accuracy");
        if (result.SameMaths is { Count: > 0 } same) Save(SameMathsDifferences(same), SameMathsChart);
        return written;
    }

    /// <summary>
    /// The plot as NAME.png and NAME.svg in <paramref name="folder"/>, each to a temporary name, flushed and renamed, so a
    /// report being rebuilt never shows half a chart.
    /// </summary>
    internal static void SaveBoth(Plot plot, string folder, string name, int width = Width, int height = Height)
    {
        AtomicFile.WriteThrough(Path.Combine(folder, name + ".png"), temp => plot.SavePng(temp, width, height));
        AtomicFile.WriteThrough(Path.Combine(folder, name + ".svg"), temp => plot.SaveSvg(temp, width, height));
    }

    /// <summary>Completed runs per framework, in the configured order.</summary>
    static IEnumerable<(string Framework, List<RunSummary> Runs)> Completed(ComparisonResult result) =>
        result.Config.Frameworks.Select(f => (f, result.MainRuns.Where(r => r.Framework == f && r.Summary is { Status: RunSummary.Completed })
            .Select(r => r.Summary!).ToList())).Where(g => g.Item2.Count > 0);

    internal static Plot LossLog(ComparisonResult result) => Curves(result, "loss", "Loss, log scale", logScale: true, percent: false);

    static Plot Curves(ComparisonResult result, string metric, string yLabel, bool logScale, bool percent)
    {
        var plot = new Plot();
        var plotted = new List<double>();
        foreach (var (framework, runs) in Completed(result))
        {
            foreach (bool validation in new[] { false, true })
            {
                int epochs = runs.Min(r => r.History.Count);
                double[] xs = [.. Enumerable.Range(1, epochs).Select(e => (double)e)];
                double Pick(Reporting.EpochRecord e) => (metric, validation) switch
                {
                    ("accuracy", false) => e.Accuracy,
                    ("accuracy", true) => e.ValAccuracy,
                    (_, false) => e.Loss,
                    _ => e.ValLoss,
                };
                double Transform(double v) => logScale ? Math.Log10(v) : percent ? 100 * v : v;
                var perEpoch = Enumerable.Range(0, epochs).Select(i => runs.Select(r => Pick(r.History[i])).ToList()).ToList();
                double[] mean = [.. perEpoch.Select(v => Transform(Statistics.Mean(v)))];
                plotted.AddRange(mean);
                if (runs.Count > 1)
                {
                    double[] low = [.. perEpoch.Select(v => Transform(Statistics.Mean(v) - Statistics.StandardDeviation(v)))];
                    double[] high = [.. perEpoch.Select(v => Transform(Statistics.Mean(v) + Statistics.StandardDeviation(v)))];
                    plotted.AddRange(low.Concat(high));
                    var band = plot.Add.FillY(xs, low, high);
                    band.FillColor = ColorOf(framework).WithAlpha(0.18);
                    band.LineColor = ColorOf(framework).WithAlpha(0);
                }
                var line = plot.Add.Scatter(xs, mean);
                // Training thin with open markers, validation thick with filled ones (dashes do not survive SVG export).
                line.Color = ColorOf(framework);
                line.LineWidth = validation ? 2.5f : 1.2f;
                line.MarkerSize = validation ? 7 : 8;
                line.MarkerShape = validation ? MarkerShape.FilledCircle : MarkerShape.OpenCircle;
                line.LegendText = $"{framework} {(validation ? "validation (test set)" : "training")}";
            }
        }
        int seeds = Completed(result).Select(g => g.Runs.Count).DefaultIfEmpty(0).Max();
        EpochTicks(plot, Completed(result).Select(g => g.Runs.Min(r => r.History.Count)).DefaultIfEmpty(1).Max());
        plot.Title($"{char.ToUpperInvariant(metric[0])}{metric[1..]} per epoch (mean over {seeds} seed{(seeds == 1 ? "" : "s")}{(seeds > 1 ? ", band ±1 std" : "")})");
        plot.XLabel("Epoch");
        plot.YLabel(percent ? yLabel + " (%)" : yLabel);
        var finite = plotted.Where(double.IsFinite).ToList();
        if (logScale && finite.Count > 0)
        {
            var (positions, labels) = LogTicks(finite.Min(), finite.Max());
            plot.Axes.Left.SetTicks(positions, labels);
        }
        plot.ShowLegend(Alignment.UpperRight);
        if (metric == "accuracy") plot.Legend.Alignment = Alignment.LowerRight;
        return plot;
    }

    public const string SameMathsChart = "same-maths";

    /// <summary>Per step, how far apart the two frameworks' losses were (log scale), against the rounding bound.</summary>
    internal static Plot SameMathsDifferences(IReadOnlyList<SameMathsResult> pairs)
    {
        var plot = new Plot();
        var same = pairs[0];
        string[] greys = ["#222222", "#777777", "#AAAAAA", "#444444"];
        for (int p = 0; p < pairs.Count; p++)
        {
            double[] steps = [.. Enumerable.Range(1, pairs[p].Steps).Select(s => (double)s)];
            double[] differences = [.. pairs[p].RelativeLossDifferences.Select(d => Math.Log10(Math.Max(d, 1e-9)))];
            var line = plot.Add.Scatter(steps, differences);
            line.Color = Color.FromHex(greys[p % greys.Length]);
            line.LineWidth = 2;
            line.LegendText = $"|{pairs[p].A} − {pairs[p].B}| / |{pairs[p].B}| of the step's loss";
        }
        var bound = plot.Add.HorizontalLine(Math.Log10(SameMathsResult.DriftBound));
        bound.Color = Color.FromHex("#B00020");
        bound.LinePattern = LinePattern.Dashed;
        bound.LegendText = "bound of rounding's drift over training";
        var first = plot.Add.HorizontalLine(Math.Log10(SameMathsResult.FirstStepBound));
        first.Color = Color.FromHex("#E6A100");
        first.LinePattern = LinePattern.Dotted;
        first.LegendText = "bound of the first step (rounding alone)";
        var (positions, labels) = LogTicks(-9, 0);
        plot.Axes.Left.SetTicks(positions, labels);
        plot.Axes.SetLimitsY(-9.2, 0.1);
        plot.Axes.SetLimitsX(1, same.Steps);
        plot.Title($"Per-step loss difference: same weights, SGD ({same.Steps} steps)");
        plot.XLabel("Step");
        plot.YLabel("Relative difference (log scale)");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    static Plot EpochSeconds(ComparisonResult result)
    {
        var plot = new Plot();
        foreach (var (framework, runs) in Completed(result))
        {
            int epochs = runs.Min(r => r.History.Count);
            double[] xs = [.. Enumerable.Range(1, epochs).Select(e => (double)e)];
            double[] seconds = [.. Enumerable.Range(0, epochs).Select(i => runs.Average(r => r.History[i].Seconds))];
            var line = plot.Add.Scatter(xs, seconds);
            line.Color = ColorOf(framework);
            line.LineWidth = 2;
            line.LegendText = $"{framework} ({runs.Average(r => r.TrainImagesPerSecond):N0} training images/s)";
        }
        EpochTicks(plot, Completed(result).Select(g => g.Runs.Min(r => r.History.Count)).DefaultIfEmpty(1).Max());
        plot.Title("Seconds per epoch (training and evaluation, mean over seeds)");
        plot.XLabel("Epoch");
        plot.YLabel("Seconds");
        plot.Axes.SetLimitsY(0, Completed(result).SelectMany(g => g.Runs).SelectMany(r => r.History).Select(e => e.Seconds).DefaultIfEmpty(1).Max() * 1.15);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>
    /// Ticks for a log10 axis over [<paramref name="lowLog"/>, <paramref name="highLog"/>] (log10 of the values), where a
    /// reader expects them: at the powers of ten when the range spans a decade or more (every second or third one when
    /// there are many), else at 1, 2 and 5 times a power of ten (1 to 9 when those are too few); every position inside
    /// the range, in increasing order, each label distinct ("1e-6" below 0.001 and above 10,000, else plain).
    /// </summary>
    public static (double[] Positions, string[] Labels) LogTicks(double lowLog, double highLog)
    {
        if (!(highLog >= lowLog) || !double.IsFinite(lowLog) || !double.IsFinite(highLog)) return ([], []);
        const double slack = 1e-9;
        int firstDecade = (int)Math.Ceiling(lowLog - slack), lastDecade = (int)Math.Floor(highLog + slack);
        if (lastDecade - firstDecade >= 2)
        {
            int every = Math.Max(1, (int)Math.Ceiling((lastDecade - firstDecade + 1) / 10.0));
            bool scientific = firstDecade < -3 || lastDecade > 4;
            var decades = new List<int>();
            for (int d = firstDecade; d <= lastDecade; d += every) decades.Add(d);
            return ([.. decades.Select(d => (double)d)],
                [.. decades.Select(d => scientific ? $"1e{d}" : Math.Pow(10, d).ToString("#,##0.########", System.Globalization.CultureInfo.InvariantCulture))]);
        }
        var values = new List<double>();
        foreach (double[] mantissas in new[] { new[] { 1.0, 2, 5 }, [1.0, 2, 3, 4, 5, 6, 7, 8, 9], [1.0, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9] })
        {
            values.Clear();
            for (int d = (int)Math.Floor(lowLog) - 1; d <= (int)Math.Ceiling(highLog); d++)
                foreach (double m in mantissas)
                    if (Math.Log10(m) + d is var position && position >= lowLog - slack && position <= highLog + slack) values.Add(m * Math.Pow(10, d));
            if (values.Count >= 3 && LargestGap(values, lowLog, highLog) <= 0.4 * (highLog - lowLog)) break;
        }
        if (values.Count < 3 || LargestGap(values, lowLog, highLog) > 0.4 * (highLog - lowLog)) values = NiceLinearValues(Math.Pow(10, lowLog), Math.Pow(10, highLog));
        double smallestStep = values.Count < 2 ? Math.Abs(values.FirstOrDefault(1)) : values.Zip(values.Skip(1), (x, y) => y - x).Min();
        int decimals = Math.Clamp((int)Math.Ceiling(-Math.Log10(smallestStep) + 1e-9), 0, 12);
        string format = decimals == 0 ? "#,##0" : "#,##0." + new string('#', decimals);
        double[] sorted = [.. values.Order()];
        return ([.. sorted.Select(Math.Log10)], [.. sorted.Select(v => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture))]);
    }

    /// <summary>The widest stretch of the axis without a tick (ends included), in log10 units: a set of ticks must cover the range.</summary>
    static double LargestGap(List<double> values, double lowLog, double highLog)
    {
        double[] positions = [lowLog, .. values.Select(Math.Log10).Order(), highLog];
        return positions.Zip(positions.Skip(1), (a, b) => b - a).Max();
    }

    /// <summary>Round values (1, 2 or 5 times a power of ten apart) inside a narrow range, for a log axis spanning less than a factor of two.</summary>
    static List<double> NiceLinearValues(double low, double high)
    {
        double span = high - low;
        if (span <= 0) return [low];
        double raw = span / 8, power = Math.Pow(10, Math.Floor(Math.Log10(raw))); // at least three ticks, at most about eight
        double step = new[] { 1.0, 2, 5, 10 }.Select(m => m * power).First(s => s >= raw);
        var values = new List<double>();
        for (double v = Math.Ceiling(low / step - 1e-9) * step; v <= high * (1 + 1e-12); v += step) values.Add(Math.Round(v / step) * step);
        return values;
    }

    /// <summary>Whole epochs only on the x axis.</summary>
    static void EpochTicks(Plot plot, int epochs)
    {
        int step = Math.Max(1, epochs / 12);
        var positions = Enumerable.Range(1, epochs).Where(e => (e - 1) % step == 0).ToArray();
        plot.Axes.Bottom.SetTicks([.. positions.Select(e => (double)e)], [.. positions.Select(e => e.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
    }

    /// <summary>Confusion matrices summed over each framework's completed runs.</summary>
    public static IReadOnlyList<(string Framework, int[,] Matrix)> ConfusionMatrices(ComparisonResult result)
    {
        var matrices = new List<(string, int[,])>();
        foreach (var (framework, runs) in Completed(result))
        {
            var withMatrix = runs.Where(r => r.ConfusionMatrix is not null).ToList();
            if (withMatrix.Count == 0) continue;
            int n = result.Data.ClassNames.Count;
            var sum = new int[n, n];
            foreach (var run in withMatrix)
                for (int t = 0; t < n; t++)
                    for (int p = 0; p < n; p++) sum[t, p] += run.ConfusionMatrix![t][p];
            matrices.Add((framework, sum));
        }
        return matrices;
    }

    /// <summary>
    /// Up to this many classes a confusion matrix shows each cell's share and every class is named; beyond (CIFAR-100)
    /// the heat map alone is readable, with every tenth class named, and the per-class chart shows the extremes.
    /// </summary>
    public const int LabelledClasses = 20;

    /// <summary>How many of the worst and of the best classes the per-class chart names when there are too many to show all.</summary>
    public const int ExtremeClasses = 10;

    static Plot Confusion(string framework, int[,] matrix, IReadOnlyList<string> classes)
    {
        int n = classes.Count;
        var shares = new double[n, n];
        for (int t = 0; t < n; t++)
        {
            double total = Enumerable.Range(0, n).Sum(p => matrix[t, p]);
            // The heatmap draws the array's first row at the top, where the first class's label goes.
            for (int p = 0; p < n; p++) shares[t, p] = total == 0 ? 0 : 100.0 * matrix[t, p] / total;
        }
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        bool labelled = n <= LabelledClasses;
        for (int t = 0; t < n && labelled; t++)
            for (int p = 0; p < n; p++)
            {
                double share = shares[t, p];
                var label = plot.Add.Text($"{share:0}", p, n - 1 - t);
                label.LabelFontSize = 11;
                label.LabelFontColor = share > 50 ? Color.FromHex("#000000") : Color.FromHex("#FFFFFF");
                label.LabelAlignment = Alignment.MiddleCenter;
            }
        var named = Enumerable.Range(0, n).Where(i => labelled || i % 10 == 0).ToArray();
        plot.Axes.Bottom.SetTicks([.. named.Select(i => (double)i)], [.. named.Select(i => labelled ? classes[i] : $"{i} {classes[i]}")]);
        plot.Axes.Left.SetTicks([.. named.Select(i => (double)(n - 1 - i))], [.. named.Select(i => labelled ? classes[i] : $"{classes[i]} {i}")]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
        plot.Axes.Bottom.MinimumSize = 110;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Title($"{framework}: confusion matrix, % of each true class (all seeds)");
        plot.XLabel("Predicted class");
        plot.YLabel("True class");
        plot.Add.ColorBar(heatmap);
        return plot;
    }

    /// <summary>Each class's test accuracy in % per framework (summed over seeds), in label order.</summary>
    public static IReadOnlyList<(string Framework, double[] Accuracy)> PerClass(ComparisonResult result) =>
    [
        .. ConfusionMatrices(result).Select(m =>
        {
            int n = m.Matrix.GetLength(0);
            return (m.Framework, Enumerable.Range(0, n).Select(t =>
            {
                double total = Enumerable.Range(0, n).Sum(p => m.Matrix[t, p]);
                return total == 0 ? 0 : 100.0 * m.Matrix[t, t] / total;
            }).ToArray());
        }),
    ];

    /// <summary>
    /// The classes the per-class chart shows: all of them up to <see cref="LabelledClasses"/>, else the
    /// <see cref="ExtremeClasses"/> worst and best by their mean accuracy over the frameworks, worst first.
    /// </summary>
    public static int[] ShownClasses(IReadOnlyList<(string Framework, double[] Accuracy)> perClass)
    {
        int n = perClass[0].Accuracy.Length;
        if (n <= LabelledClasses) return [.. Enumerable.Range(0, n)];
        var order = Enumerable.Range(0, n).OrderBy(c => perClass.Average(f => f.Accuracy[c])).ThenBy(c => c).ToArray();
        return [.. order.Take(ExtremeClasses), .. order.TakeLast(ExtremeClasses)];
    }

    static Plot PerClassAccuracy(ComparisonResult result)
    {
        var plot = new Plot();
        var perClass = PerClass(result);
        var classes = result.Data.ClassNames;
        var shown = ShownClasses(perClass);
        double width = 0.8 / perClass.Count;
        for (int f = 0; f < perClass.Count; f++)
        {
            var (framework, accuracy) = perClass[f];
            var bars = shown.Select((c, i) => new Bar
            {
                Position = i - 0.4 + width * (f + 0.5),
                Value = accuracy[c],
                FillColor = ColorOf(framework),
                Size = width * 0.95,
            }).ToList();
            var series = plot.Add.Bars(bars);
            series.LegendText = framework;
        }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, shown.Length).Select(i => (double)i)], [.. shown.Select(c => classes[c])]);
        if (shown.Length < classes.Count)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.MinimumSize = 110;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            plot.Add.VerticalLine(ExtremeClasses - 0.5, 1, Color.FromHex("#888888"), LinePattern.Dashed);
        }
        plot.Axes.SetLimitsY(0, 100);
        plot.Title(shown.Length < classes.Count
            ? $"Test accuracy per class: the {ExtremeClasses} worst and the {ExtremeClasses} best of {classes.Count} (all seeds)"
            : "Test accuracy per class (all seeds)");
        plot.YLabel("Accuracy (%)");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }
}
