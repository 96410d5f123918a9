using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TwinTrain.Keras.Utils;

/// <summary>
/// Keras 3's progress bar (keras/src/utils/progbar.py), with its formatting: verbose 1,
/// <c>782/782 ━━━━━━━━━━━━━━━━━━━━ 125s 160ms/step - accuracy: 0.6123 - loss: 1.1042</c> (the ETA while running,
/// the elapsed seconds when done); verbose 2, one line per epoch, <c>782/782 - 125s - 160ms/step - accuracy: ...</c>.
/// Times per step leave out the first step (which includes start-up work), as Keras's _estimate_step_duration does;
/// values show 4 decimals above 1e-3 and scientific notation below (5.1000e-04); rounding is Python's (half to even).
/// On a terminal verbose 1 redraws one line in place in Keras's colours; to a pipe or file it prints only each epoch's
/// final line (Keras would write every redraw with carriage returns into the file).
/// </summary>
public sealed class Progbar
{
    const int BarWidth = 20;
    const double RedrawSeconds = 0.05; // Keras's interval

    readonly TextWriter _output;
    readonly int _target;
    readonly bool _live;
    readonly int _verbose;
    readonly Func<double> _now;
    readonly double _start;
    double? _afterFirstStep;
    double _lastDraw = double.NegativeInfinity;
    int _lastLength;

    /// <param name="clock">Seconds from any origin (for tests); the default is a monotonic clock.</param>
    public Progbar(TextWriter output, int target, bool live, int verbose = 1, Func<double>? clock = null)
    {
        _output = output;
        _target = target;
        _live = live;
        _verbose = verbose;
        var stopwatch = Stopwatch.StartNew();
        _now = clock ?? (() => stopwatch.Elapsed.TotalSeconds);
        _start = _now();
    }

    /// <summary>Reports progress after step <paramref name="current"/> (from 1); on a terminal redraws at most every 50 ms.</summary>
    public void Update(int current, IEnumerable<KeyValuePair<string, double>> values)
    {
        double now = _now();
        double perStep = StepSeconds(current, now);
        if (_verbose != 1 || !_live || now - _lastDraw < RedrawSeconds) return;
        _lastDraw = now;
        Draw(BarLine(current, values, perStep, now, finished: false), newLine: false);
    }

    /// <summary>Draws the epoch's final line and ends it.</summary>
    public void Finish(int current, IEnumerable<KeyValuePair<string, double>> values)
    {
        double now = _now();
        double perStep = StepSeconds(current, now);
        if (_verbose == 2) _output.WriteLine(EpochLine(current, values, perStep, now));
        else Draw(BarLine(current, values, perStep, now, finished: true), newLine: true);
        _output.Flush();
    }

    /// <summary>Keras's estimate: after the first step, the mean over the steps since it.</summary>
    double StepSeconds(int current, double now)
    {
        if (current <= 0) return 0;
        double perStep = _afterFirstStep is double first && current > 1 ? (now - first) / (current - 1) : (now - _start) / current;
        if (current == 1) _afterFirstStep = now;
        return perStep;
    }

    string Count(int current)
    {
        string target = _target.ToString(CultureInfo.InvariantCulture);
        return current.ToString(CultureInfo.InvariantCulture).PadLeft(target.Length) + "/" + target;
    }

    string BarLine(int current, IEnumerable<KeyValuePair<string, double>> values, double perStep, double now, bool finished)
    {
        var text = new StringBuilder();
        int done = _target <= 0 ? BarWidth : (int)(BarWidth * Math.Min(1.0, (double)current / _target));
        string count = Count(current), doneBar = new('━', done), rest = new(_live ? '━' : '─', BarWidth - done);
        string time = finished || _target <= 0 ? Round(now - _start) + "s" : Eta(perStep * (_target - current));
        if (_live)
            text.Append($"\u001b[1m{count}\u001b[0m ").Append(done > 0 ? $"\u001b[32m{doneBar}\u001b[0m" : "")
                .Append($"\u001b[37m{rest}\u001b[0m").Append($" \u001b[1m{time}\u001b[0m");
        else text.Append(count).Append(' ').Append(doneBar).Append(rest).Append(' ').Append(time);
        text.Append(' ').Append(PerStep(perStep));
        foreach (var (name, value) in Ordered(values)) text.Append(" - ").Append(name).Append(": ").Append(Value(Math.Abs(value), value));
        return text.ToString();
    }

    string EpochLine(int current, IEnumerable<KeyValuePair<string, double>> values, double perStep, double now)
    {
        var text = new StringBuilder(Count(current)).Append(" - ").Append(Round(now - _start)).Append("s - ").Append(PerStep(perStep));
        // verbose 2 compares the value itself, not its magnitude, with 1e-3 (progbar.py: `if avg > 1e-3`).
        foreach (var (name, value) in Ordered(values)) text.Append(" - ").Append(name).Append(": ").Append(Value(value, value));
        return text.ToString();
    }

    static IEnumerable<KeyValuePair<string, double>> Ordered(IEnumerable<KeyValuePair<string, double>> values) =>
        values.OrderBy(v => v.Key, StringComparer.Ordinal);

    /// <summary>" {avg:.4f}" when the tested size is above 1e-3, else " {avg:.4e}".</summary>
    static string Value(double tested, double value) => tested > 1e-3
        ? value.ToString("F4", CultureInfo.InvariantCulture)
        : value.ToString("0.0000e+00", CultureInfo.InvariantCulture);

    /// <summary>Python's f"{x:.0f}": to the nearest whole number, ties to even (2.5 → 2).</summary>
    static string Round(double seconds) => Math.Round(seconds, MidpointRounding.ToEven).ToString("F0", CultureInfo.InvariantCulture);

    /// <summary>Keras's ETA: "%d:%02d:%02d" above an hour, "%d:%02d" above a minute, else "%ds" (whole seconds, cut).</summary>
    public static string Eta(double seconds)
    {
        long s = (long)Math.Floor(Math.Max(0, seconds));
        return seconds > 3600 ? $"{s / 3600}:{s % 3600 / 60:D2}:{s % 60:D2}" : seconds > 60 ? $"{s / 60}:{s % 60:D2}" : $"{s}s";
    }

    /// <summary>Keras's _format_time: s/step at a second or more (or zero), ms/step from 1 ms, else us/step.</summary>
    public static string PerStep(double seconds) => seconds >= 1 || seconds == 0 ? $"{Round(seconds)}s/step"
        : seconds >= 1e-3 ? $"{Round(seconds * 1e3)}ms/step"
        : $"{Round(seconds * 1e6)}us/step";

    void Draw(string line, bool newLine)
    {
        if (_live)
        {
            // The visible width leaves out the colour codes, so a shorter line clears what a longer one left.
            int visible = System.Text.RegularExpressions.Regex.Replace(line, "\u001b\\[[0-9;]*m", "").Length;
            _output.Write('\r');
            _output.Write(line);
            if (_lastLength > visible) _output.Write(new string(' ', _lastLength - visible));
            _lastLength = visible;
            if (newLine) _output.WriteLine();
        }
        else if (newLine) _output.WriteLine(line);
        _output.Flush();
    }
}
