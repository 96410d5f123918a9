using TwinTrain.Keras.Utils;

namespace TwinTrain.Keras.Tests;

/// <summary>
/// The progress bar against keras/src/utils/progbar.py: update (verbose 1 and 2 branches), _format_time and
/// _estimate_step_duration, driven by a scripted clock so every printed number is known.
/// </summary>
public class ProgbarTests
{
    static KeyValuePair<string, double>[] Values(double loss, double accuracy) => [new("loss", loss), new("accuracy", accuracy)];

    /// <summary>A bar whose clock reads the given seconds, one reading per call (construction, then each update).</summary>
    static Progbar Scripted(TextWriter output, int target, bool live, int verbose, params double[] readings)
    {
        var queue = new Queue<double>(readings);
        return new Progbar(output, target, live, verbose, () => queue.Dequeue());
    }

    // verbose 1, finalised: count, bar, f"{now - self._start:.0f}s" (125 s, not "2:05"), _format_time of
    // _estimate_step_duration: after step 1 at 5 s, (125 - 5) / (782 - 1) = 0.1536 s → "154ms/step" (the first step's
    // 5 s left out); values `abs(avg) > 1e-3` → .4f, else .4e (0.00051 → 5.1000e-04).
    [Fact]
    public void Should_print_keras_verbose_1_final_line()
    {
        var output = new StringWriter();
        var bar = Scripted(output, 782, live: false, verbose: 1, 0, 5, 60, 125);
        bar.Update(1, Values(2.3, 0.1));
        bar.Update(400, Values(1.5, 0.4));
        Assert.Equal("", output.ToString()); // not a terminal: only the final line
        bar.Finish(782, [new("loss", 1.10421), new("accuracy", 0.61234), new("val_loss", 0.00051)]);
        Assert.Equal("782/782 ━━━━━━━━━━━━━━━━━━━━ 125s 154ms/step - accuracy: 0.6123 - loss: 1.1042 - val_loss: 5.1000e-04\n",
            output.ToString().Replace("\r\n", "\n"));
    }

    // verbose 2 (the elif branch): only when finalised, f"{count} - {elapsed:.0f}s -{_format_time(...)}" and metrics.
    [Fact]
    public void Should_print_keras_verbose_2_line()
    {
        var output = new StringWriter();
        var bar = Scripted(output, 782, live: false, verbose: 2, 0, 1, 5);
        bar.Update(1, Values(2.3, 0.1));
        bar.Finish(782, Values(1.10421, 0.61234));
        Assert.Equal("782/782 - 5s - 5ms/step - accuracy: 0.6123 - loss: 1.1042\n", output.ToString().Replace("\r\n", "\n"));
    }

    // _format_time: `if time_per_unit >= 1 or time_per_unit == 0: f" {time_per_unit:.0f}s/..."`; Python rounds half to
    // even, so 2.5 s is "2s/step" and 3.5 s "4s/step"; 0.0025 s is "2ms/step"; 5e-6 s is "5us/step".
    [Theory]
    [InlineData(2.5, "2s/step")]
    [InlineData(3.5, "4s/step")]
    [InlineData(0, "0s/step")]
    [InlineData(0.0025, "2ms/step")]
    [InlineData(0.0155, "16ms/step")]
    [InlineData(0.000005, "5us/step")]
    public void Should_format_time_per_step_as_keras(double seconds, string expected) => Assert.Equal(expected, Progbar.PerStep(seconds));

    // The ETA while running: "%d:%02d:%02d" above 3600 s, "%d:%02d" above 60 s, else "%ds" (Python's %d cuts).
    [Theory]
    [InlineData(12.9, "12s")]
    [InlineData(60, "60s")]
    [InlineData(75.5, "1:15")]
    [InlineData(3725, "1:02:05")]
    public void Should_format_the_eta_as_keras(double seconds, string expected) => Assert.Equal(expected, Progbar.Eta(seconds));

    // A running terminal line shows the ETA, time per unit so far and the remaining bar; colours as progbar.py:
    // bold count, green done part, grey rest, bold time.
    [Fact]
    public void Should_redraw_in_place_on_a_terminal_with_the_eta_and_keras_colours()
    {
        var output = new StringWriter();
        var bar = Scripted(output, 10, live: true, verbose: 1, 0, 1, 2, 3);
        bar.Update(1, Values(2, 0.1));    // step 1 at 1 s: 1 s/step, ETA 9 s
        bar.Update(5, Values(1.5, 0.3));  // at 2 s: (2 - 1) / 4 = 0.25 s/step, ETA 5 x 0.25 = 1 s
        bar.Finish(10, Values(1, 0.5));   // at 3 s: (3 - 1) / 9 = 0.222 s → 222ms/step, elapsed 3s
        string text = output.ToString();
        Assert.StartsWith("\r\u001b[1m 1/10\u001b[0m \u001b[32m━━\u001b[0m\u001b[37m━━━━━━━━━━━━━━━━━━\u001b[0m \u001b[1m9s\u001b[0m 1s/step", text);
        Assert.Contains("\r\u001b[1m 5/10\u001b[0m \u001b[32m━━━━━━━━━━\u001b[0m\u001b[37m━━━━━━━━━━\u001b[0m \u001b[1m1s\u001b[0m 250ms/step - accuracy: 0.3000 - loss: 1.5000", text);
        Assert.Contains("\r\u001b[1m10/10\u001b[0m \u001b[32m━━━━━━━━━━━━━━━━━━━━\u001b[0m\u001b[37m\u001b[0m \u001b[1m3s\u001b[0m 222ms/step - accuracy: 0.5000 - loss: 1.0000", text);
        Assert.EndsWith(Environment.NewLine, text);
    }
}
