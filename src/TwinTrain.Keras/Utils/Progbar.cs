using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TwinTrain.Keras.Utils;

/// <summary>
/// A progress bar in the style of Keras 3's:
/// <c>782/782 ━━━━━━━━━━━━━━━━━━━━ 12s 15ms/step - accuracy: 0.6123 - loss: 1.1042</c>.
/// On a terminal it redraws one line in place (showing the ETA while running, the elapsed time when done);
/// when output is redirected it prints only the final line of each epoch.
/// </summary>
public sealed class Progbar
{
    const int BarWidth = 20;
    static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);

    readonly TextWriter _output;
    readonly int _target;
    readonly bool _live;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    TimeSpan? _lastDraw;
    int _lastLength;

    public Progbar(TextWriter output, int target, bool live)
    {
        _output = output;
        _target = target;
        _live = live;
    }

    /// <summary>Reports progress; on a terminal redraws at most ten times a second.</summary>
    public void Update(int current, IEnumerable<KeyValuePair<string, double>> values)
    {
        if (!_live || _clock.Elapsed - _lastDraw < RedrawInterval) return; // null (never drawn) compares false
        _lastDraw = _clock.Elapsed;
        Draw(Line(current, values, finished: false), newLine: false);
    }

    /// <summary>Draws the final line of the epoch and ends it.</summary>
    public void Finish(int current, IEnumerable<KeyValuePair<string, double>> values) =>
        Draw(Line(current, values, finished: true), newLine: true);

    public string Line(int current, IEnumerable<KeyValuePair<string, double>> values, bool finished)
    {
        var text = new StringBuilder();
        string targetText = _target.ToString(CultureInfo.InvariantCulture);
        text.Append(current.ToString(CultureInfo.InvariantCulture).PadLeft(targetText.Length)).Append('/').Append(targetText).Append(' ');
        int filled = _target == 0 ? BarWidth : (int)((long)BarWidth * Math.Min(current, _target) / _target);
        text.Append('━', filled);
        if (filled < BarWidth)
        {
            // Keras dims the part still to do; without a terminal a lighter line shows it.
            text.Append(_live ? "\u001b[2m" : "").Append(_live ? '━' : '─', BarWidth - filled).Append(_live ? "\u001b[0m" : "");
        }

        double seconds = _clock.Elapsed.TotalSeconds;
        double perStep = current > 0 ? seconds / current : 0;
        double shown = finished ? seconds : perStep * Math.Max(0, _target - current);
        text.Append(' ').Append(FormatDuration(shown)).Append(' ').Append(FormatPerStep(perStep));
        foreach (var (name, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
            text.Append(" - ").Append(name).Append(": ").Append(value.ToString("F4", CultureInfo.InvariantCulture));
        return text.ToString();
    }

    void Draw(string line, bool newLine)
    {
        if (_live)
        {
            int visible = line.Length;
            _output.Write('\r');
            _output.Write(line);
            if (_lastLength > visible) _output.Write(new string(' ', _lastLength - visible));
            _lastLength = visible;
            if (newLine) _output.WriteLine();
        }
        else if (newLine) _output.WriteLine(line);
        _output.Flush();
    }

    public static string FormatDuration(double seconds)
    {
        long s = (long)Math.Round(seconds);
        return s >= 3600 ? $"{s / 3600}:{s / 60 % 60:D2}:{s % 60:D2}" : s >= 60 ? $"{s / 60}:{s % 60:D2}" : $"{s}s";
    }

    static string FormatPerStep(double seconds) => seconds switch
    {
        >= 1 => $"{seconds:0}s/step",
        >= 1e-3 => $"{seconds * 1e3:0}ms/step",
        _ => $"{seconds * 1e6:0}us/step",
    };
}
