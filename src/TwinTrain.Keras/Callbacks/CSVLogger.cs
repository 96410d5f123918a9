using System.Globalization;

namespace TwinTrain.Keras.Callbacks;

/// <summary>Writes one CSV row per epoch: epoch, then every log in name order (Keras's CSVLogger).</summary>
public sealed class CSVLogger(string path, bool append = false) : Callback
{
    string[]? _columns;

    public override void OnTrainBegin()
    {
        _columns = null;
        if (!append && File.Exists(path)) File.Delete(path);
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        bool header = _columns is null && (!append || !File.Exists(path) || new FileInfo(path).Length == 0);
        _columns ??= [.. logs.Keys.Order(StringComparer.Ordinal)];
        using var writer = new StreamWriter(path, append: true);
        if (header) writer.WriteLine("epoch," + string.Join(",", _columns));
        writer.WriteLine(epoch.ToString(CultureInfo.InvariantCulture) + "," +
            string.Join(",", _columns.Select(c => logs.TryGetValue(c, out double v) ? v.ToString("R", CultureInfo.InvariantCulture) : "")));
    }
}
