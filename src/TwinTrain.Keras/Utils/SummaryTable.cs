using System.Globalization;
using System.Text;

namespace TwinTrain.Keras.Utils;

/// <summary>
/// Keras 3's model summary (keras/src/utils/summary_utils.py, print_summary, the sequential branch), as rich renders
/// it without colours: columns at 45%, 80% and 100% of the line length, then narrowed by the 4 border characters as
/// rich's Table does (ratio_reduce, rounding half to even); cells padded by one space; text wrapped at spaces, a word
/// too long for its column cut with "…"; a rule between rows (show_lines=True).
/// </summary>
internal static class SummaryTable
{
    public static string Render(IReadOnlyList<(string NameAndType, string Shape, string Params)> rows, int lineLength)
    {
        int[] widths = ColumnWidths(lineLength);
        var text = new StringBuilder();
        text.Append(Rule('┏', '━', '┳', '┓', widths));
        text.Append(Row(["Layer (type)", "Output Shape", "Param #"], widths, '┃'));
        text.Append(Rule('┡', '━', '╇', '┩', widths));
        for (int i = 0; i < rows.Count; i++)
        {
            if (i > 0) text.Append(Rule('├', '─', '┼', '┤', widths));
            text.Append(Row([rows[i].NameAndType, rows[i].Shape, rows[i].Params], widths, '│'));
        }
        text.Append(Rule('└', '─', '┴', '┘', widths));
        return text.ToString();
    }

    /// <summary>int(position * line_length) minus the columns before, then 4 less in all (the borders), as rich narrows them.</summary>
    static int[] ColumnWidths(int lineLength)
    {
        double[] positions = [0.45, 0.80, 1.0];
        var widths = new int[positions.Length];
        int current = 0;
        for (int i = 0; i < positions.Length; i++)
        {
            widths[i] = (int)(positions[i] * lineLength) - current;
            if (widths[i] < 4) throw new ArgumentException("Insufficient console width to print summary.");
            current += widths[i];
        }
        // rich's ratio_reduce(excess, [1, 1, 1], widths, widths): each column gives round(remaining / columns left).
        int excess = current - (lineLength - (positions.Length + 1)), columnsLeft = widths.Length;
        for (int i = 0; i < widths.Length && excess > 0; i++)
        {
            int given = Math.Min(widths[i], (int)Math.Round((double)excess / columnsLeft, MidpointRounding.ToEven));
            widths[i] -= given;
            excess -= given;
            columnsLeft--;
        }
        return widths;
    }

    static string Rule(char left, char line, char cross, char right, int[] widths) =>
        left + string.Join(cross, widths.Select(w => new string(line, w))) + right + "\n";

    /// <summary>One table row, as many lines as its tallest wrapped cell; the last column is right-aligned.</summary>
    static string Row(string[] cells, int[] widths, char border)
    {
        var wrapped = cells.Select((cell, i) => Wrap(cell, widths[i] - 2)).ToArray();
        int height = wrapped.Max(lines => lines.Count);
        var text = new StringBuilder();
        for (int line = 0; line < height; line++)
        {
            text.Append(border);
            for (int i = 0; i < cells.Length; i++)
            {
                string content = line < wrapped[i].Count ? wrapped[i][line] : "";
                content = i == cells.Length - 1 ? content.PadLeft(widths[i] - 2) : content.PadRight(widths[i] - 2);
                text.Append(' ').Append(content).Append(' ').Append(border);
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    static List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        var current = new StringBuilder();
        foreach (string word in text.Split(' '))
        {
            string piece = word.Length > width ? word[..(width - 1)] + "…" : word;
            if (current.Length > 0 && current.Length + 1 + piece.Length > width)
            {
                lines.Add(current.ToString());
                current.Clear();
            }
            if (current.Length > 0) current.Append(' ');
            current.Append(piece);
        }
        lines.Add(current.ToString());
        return lines;
    }

    /// <summary>summary_utils.readable_memory_size: "{:.2f} {unit}" in steps of 1024 (654.54 KB).</summary>
    public static string Memory(double bytes)
    {
        foreach (string unit in new[] { "B", "KB", "MB", "GB", "TB" })
        {
            if (bytes / 1024 < 1) return bytes.ToString("F2", CultureInfo.InvariantCulture) + " " + unit;
            bytes /= 1024;
        }
        return bytes.ToString("F2", CultureInfo.InvariantCulture) + " PB";
    }

    /// <summary>The line length Keras picks: min(88, terminal columns - 4), the columns from $COLUMNS, the terminal, or 80.</summary>
    public static int DefaultLineLength()
    {
        int columns = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out int c) && c > 0 ? c
            : !Console.IsOutputRedirected && Console.WindowWidth > 0 ? Console.WindowWidth : 80;
        return Math.Min(88, columns - 4);
    }
}
