using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TwinTrain.Experiment.Reporting;

/// <summary>One completed epoch, as written to history.csv and run.json.</summary>
public sealed record EpochRecord(int Epoch, double Loss, double Accuracy, double ValLoss, double ValAccuracy, double Seconds, double ImagesPerSecond);

/// <summary>Writes a run's files: history.csv (one row per epoch) and run.json (everything), both atomically.</summary>
public static class RunFiles
{
    public const string History = "history.csv";
    public const string Run = "run.json";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A null where the type says there is none (a "config": null) is damage, not a value.
        RespectNullableAnnotations = true,
        // run.json is read by people too: "√v̂ + ε" as written, not as \u221A escapes (still valid JSON).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // Choices as the command line spells them ("adam", "shared"), which is also how earlier files hold them.
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    public static void WriteHistory(string folder, IEnumerable<EpochRecord> epochs)
    {
        var csv = new StringBuilder("epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
        foreach (var e in epochs)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{e.Epoch},{e.Loss:R},{e.Accuracy:R},{e.ValLoss:R},{e.ValAccuracy:R},{e.Seconds:F3}\n");
        }
        WriteAtomically(Path.Combine(folder, History), csv.ToString());
    }

    /// <summary>The run.json in <paramref name="folder"/>, or null if there is none; a damaged one is an error naming the file.</summary>
    public static RunSummary? ReadRun(string folder)
    {
        string path = Path.Combine(folder, Run);
        if (!File.Exists(path)) return null;
        try
        {
            var run = JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path} is empty.");
            // A missing member is not caught by the serializer (only a null one): name the first that is absent.
            string? missing = run.Framework is null ? "framework" : run.Status is null ? "status" : run.Config is null ? "config"
                : run.Data is null ? "data" : run.History is null ? "history" : run.Machine is null ? "machine" : null;
            return missing is null ? run : throw new InvalidDataException($"{path}: not a complete run (it has no '{missing}'); the file is damaged.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: cannot read the run ({e.Message}).", e);
        }
    }

    public static void WriteJson<T>(string path, T value) => WriteAtomically(path, JsonSerializer.Serialize(value, Json));

    /// <summary>Writes to a temporary name, flushed, and renames it into place, so readers see the old file or the new one.</summary>
    public static void WriteAtomically(string path, string text) => Data.AtomicFile.WriteAllText(path, text);
}
