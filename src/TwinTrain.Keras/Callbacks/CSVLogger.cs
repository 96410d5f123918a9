using System.Globalization;
using TwinTrain.Keras.Utils;

namespace TwinTrain.Keras.Callbacks;

/// <summary>
/// One CSV row per epoch, as Keras 3's CSVLogger (keras/src/callbacks/csv_logger.py): the columns are "epoch" (from 0)
/// and the logs in sorted order, with val_ columns added when the first epoch has none (so a run without validation
/// has the same columns); a missing value is "NA"; values are Python floats ("0.5", "1e-05"). With append the header
/// is written only to an empty or new file.
/// </summary>
public sealed class CSVLogger(string path, string separator = ",", bool append = false) : Callback
{
    List<string>? _keys;
    bool _header;

    public string Path { get; } = path;

    public override void OnTrainBegin()
    {
        _keys = null;
        _header = !append || !File.Exists(Path) || File.ReadLines(Path).FirstOrDefault() is not { Length: > 0 };
        if (!append) File.WriteAllText(Path, "");
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (_keys is null)
        {
            _keys = [.. logs.Keys.Order(StringComparer.Ordinal)];
            if (_keys.Count > 0 && !_keys.Any(k => k.StartsWith("val_", StringComparison.Ordinal))) _keys.AddRange(_keys.Select(k => "val_" + k).ToList());
        }
        using var writer = new StreamWriter(Path, append: true);
        // Python's csv module ends rows with \r\n (the excel dialect Keras's writer derives from).
        writer.NewLine = "\r\n";
        if (_header)
        {
            writer.WriteLine(string.Join(separator, ["epoch", .. _keys]));
            _header = false;
        }
        writer.WriteLine(string.Join(separator, [epoch.ToString(CultureInfo.InvariantCulture),
            .. _keys.Select(k => logs.TryGetValue(k, out double v) ? PythonFormat.Repr(v) : "NA")]));
    }
}
