using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace TwinTrain.Keras.Utils;

/// <summary>
/// Python's str.format for the file names Keras users write (ModelCheckpoint's "ckpt-{epoch:02d}-{val_loss:.2f}.keras")
/// and Python's float repr for logged values, so names and CSV cells come out as Keras writes them. The format-spec
/// mini-language: [[fill]align][sign][0][width][,][.precision][type] with types d, f, F, e, E, g, G, % and none.
/// </summary>
public static partial class PythonFormat
{
    [GeneratedRegex(@"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")]
    private static partial Regex Field();

    [GeneratedRegex(@"^(?:(.)?([<>=^]))?([+\- ])?(0)?(\d+)?(,)?(?:\.(\d+))?([dfFeEgG%s])?$")]
    private static partial Regex Spec();

    /// <summary>Formats <paramref name="template"/> with named values (ints stay ints, as Python's epoch does); a missing name is an error naming it.</summary>
    public static string Format(string template, IReadOnlyDictionary<string, object> values) => Field().Replace(template, match =>
    {
        if (match.Value == "{{") return "{";
        if (match.Value == "}}") return "}";
        string name = match.Groups[1].Value;
        if (!values.TryGetValue(name, out object? value))
            throw new KeyNotFoundException($"'{template}': no value named '{name}' to format (available: {string.Join(", ", values.Keys)}).");
        return FormatValue(value, match.Groups[2].Success ? match.Groups[2].Value : "", template);
    });

    static string FormatValue(object value, string spec, string template)
    {
        var m = Spec().Match(spec);
        if (!m.Success) throw new FormatException($"'{template}': invalid format specifier '{spec}'.");
        char? fill = m.Groups[1].Success ? m.Groups[1].Value[0] : null;
        char? align = m.Groups[2].Success ? m.Groups[2].Value[0] : null;
        char sign = m.Groups[3].Success ? m.Groups[3].Value[0] : '-';
        bool zero = m.Groups[4].Success;
        int width = m.Groups[5].Success ? int.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture) : 0;
        bool grouping = m.Groups[6].Success;
        int? precision = m.Groups[7].Success ? int.Parse(m.Groups[7].Value, CultureInfo.InvariantCulture) : null;
        char? type = m.Groups[8].Success ? m.Groups[8].Value[0] : null;

        string body;
        bool negative;
        switch (value)
        {
            case int or long:
            {
                long n = Convert.ToInt64(value, CultureInfo.InvariantCulture);
                if (type is null or 'd') { negative = n < 0; body = Math.Abs(n).ToString(grouping ? "N0" : "D", CultureInfo.InvariantCulture); }
                else return FormatValue((double)n, spec, template);
                break;
            }
            case double d:
            {
                if (type is 'd') throw new FormatException($"'{template}': unknown format code 'd' for object of type 'float'.");
                negative = d < 0 || (d == 0 && double.IsNegative(d));
                body = Number(Math.Abs(d), type, precision, grouping);
                break;
            }
            default:
                negative = false;
                body = value.ToString() ?? "";
                break;
        }
        string signText = negative ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";
        if (zero && align is null) { fill = '0'; align = '='; }
        align ??= value is string ? '<' : '>';
        fill ??= ' ';
        int pad = Math.Max(0, width - signText.Length - body.Length);
        return align switch
        {
            '<' => signText + body + new string(fill.Value, pad),
            '^' => new string(fill.Value, pad / 2) + signText + body + new string(fill.Value, pad - pad / 2),
            '=' => signText + new string(fill.Value, pad) + body,
            _ => new string(fill.Value, pad) + signText + body,
        };
    }

    static string Number(double d, char? type, int? precision, bool grouping)
    {
        if (double.IsNaN(d)) return type is 'F' or 'E' or 'G' ? "NAN" : "nan";
        if (double.IsInfinity(d)) return type is 'F' or 'E' or 'G' ? "INF" : "inf";
        var c = CultureInfo.InvariantCulture;
        switch (type)
        {
            case 'f' or 'F': return d.ToString((grouping ? "N" : "F") + (precision ?? 6), c);
            case '%': return (d * 100).ToString((grouping ? "N" : "F") + (precision ?? 6), c) + "%";
            case 'e' or 'E':
            {
                string text = Exponent(d, precision ?? 6);
                return type == 'E' ? text.ToUpperInvariant() : text;
            }
            case 'g' or 'G':
            {
                // Python: the exponent the value has when rounded to p significant digits picks fixed or scientific.
                int p = Math.Max(precision ?? 6, 1);
                string scientific = Exponent(d, p - 1);
                int exponent = int.Parse(scientific[(scientific.IndexOf('e') + 1)..], c);
                string text = exponent < -4 || exponent >= p
                    ? TrimZeros(scientific)
                    : TrimZeros(d.ToString("F" + Math.Max(p - 1 - exponent, 0), c));
                return type == 'G' ? text.ToUpperInvariant() : text;
            }
            default: return precision is int digits ? Number(d, 'g', digits, grouping) : Repr(d);
        }
    }

    /// <summary>Python's "%.{digits}e": mantissa, 'e', sign and at least two exponent digits (5.1000e-04).</summary>
    static string Exponent(double d, int digits) =>
        d.ToString((digits == 0 ? "0" : "0." + new string('0', digits)) + "e+00", CultureInfo.InvariantCulture);

    static string TrimZeros(string text)
    {
        int e = text.IndexOf('e');
        string mantissa = e < 0 ? text : text[..e], exponent = e < 0 ? "" : text[e..];
        if (mantissa.Contains('.')) mantissa = mantissa.TrimEnd('0').TrimEnd('.');
        return mantissa + exponent;
    }

    /// <summary>
    /// Python's repr of a float: the shortest digits that round-trip, fixed-point from 1e-4 up to 1e16 ("0.5",
    /// "2.3090276718139648", "1.0"), scientific outside ("1e-05", "5.1e-04" is "0.00051", "1e+16").
    /// </summary>
    public static string Repr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        string r = d.ToString("E16", CultureInfo.InvariantCulture); // to find the decimal exponent
        string shortest = d.ToString("R", CultureInfo.InvariantCulture);
        // Digits and exponent of the shortest round-trip form.
        string digits = new(shortest.TakeWhile(ch => ch != 'E').Where(char.IsDigit).ToArray());
        int exponent = int.Parse(r[(r.IndexOf('E') + 1)..], CultureInfo.InvariantCulture);
        digits = digits.TrimStart('0');
        if (digits.Length == 0) digits = "0";
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var text = new StringBuilder(d < 0 ? "-" : "");
        if (exponent < -4 || exponent >= 16)
        {
            text.Append(digits[0]);
            if (digits.Length > 1) text.Append('.').Append(digits, 1, digits.Length - 1);
            text.Append('e').Append(exponent < 0 ? '-' : '+').Append(Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (exponent < 0)
        {
            text.Append("0.").Append('0', -exponent - 1).Append(digits);
        }
        else
        {
            string whole = digits.Length > exponent + 1 ? digits[..(exponent + 1)] : digits.PadRight(exponent + 1, '0');
            string fraction = digits.Length > exponent + 1 ? digits[(exponent + 1)..] : "0";
            text.Append(whole).Append('.').Append(fraction);
        }
        return text.ToString();
    }
}
