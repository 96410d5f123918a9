using TwinTrain.Keras.Utils;

namespace TwinTrain.Keras.Tests;

public class ProgbarTests
{
    static KeyValuePair<string, double>[] Values(double loss, double accuracy) => [new("loss", loss), new("accuracy", accuracy)];

    [Fact]
    public void Should_print_one_keras_style_line_per_epoch_when_not_a_terminal()
    {
        var output = new StringWriter();
        var bar = new Progbar(output, 782, live: false);
        bar.Update(100, Values(1.5, 0.4));
        Assert.Equal("", output.ToString());

        bar.Finish(782, Values(1.10421, 0.61234).Append(new("val_loss", 1.13071)).Append(new("val_accuracy", 0.601)));
        Assert.Matches(
            @"^782/782 ━{20} \d+s \d+(us|ms)/step - accuracy: 0\.6123 - loss: 1\.1042 - val_accuracy: 0\.6010 - val_loss: 1\.1307\r?\n$",
            output.ToString());
    }

    [Fact]
    public void Should_show_the_remaining_part_of_the_bar_and_pad_the_step_count()
    {
        var bar = new Progbar(new StringWriter(), 782, live: false);
        string line = bar.Line(391, Values(2, 0.1), finished: false);
        Assert.StartsWith("391/782 ━━━━━━━━━━──────────", line);
        Assert.StartsWith(" 12/782 ", bar.Line(12, [], finished: false));
    }

    [Fact]
    public void Should_redraw_in_place_on_a_terminal()
    {
        var output = new StringWriter();
        var bar = new Progbar(output, 10, live: true);
        bar.Update(3, Values(2, 0.1));
        bar.Finish(10, Values(1, 0.5));
        string text = output.ToString();
        Assert.StartsWith("\r", text);
        Assert.Contains("\r10/10 ━━━━━━━━━━━━━━━━━━━━", text);
        Assert.EndsWith(Environment.NewLine, text);
    }

    [Theory]
    [InlineData(12.4, "12s")]
    [InlineData(75, "1:15")]
    [InlineData(3725, "1:02:05")]
    public void Should_format_durations_like_keras(double seconds, string expected) =>
        Assert.Equal(expected, Progbar.FormatDuration(seconds));
}
