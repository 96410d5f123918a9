using System.Globalization;

namespace TwinTrain.Experiment;

/// <summary>Text for files and reports is culture-invariant (a decimal point, never a comma): F($"...") formats it so.</summary>
public static class Invariant
{
    public static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
