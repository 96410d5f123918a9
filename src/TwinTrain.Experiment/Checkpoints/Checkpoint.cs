using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;

namespace TwinTrain.Experiment.Checkpoints;

/// <summary>
/// One epoch's checkpoint as run.json records it: the folder (relative to the run folder) holding the framework's
/// files, model.json and SHA256SUMS, the model file's name, and each file's SHA-256.
/// </summary>
public sealed record CheckpointRecord(int Epoch, string Folder, string ModelFile, IReadOnlyDictionary<string, string> Sha256)
{
    /// <summary>The model file's path relative to the run folder.</summary>
    public string ModelPath => $"{Folder}/{ModelFile}";

    /// <summary>
    /// Writes epoch <paramref name="epoch"/>'s checkpoint in <paramref name="runFolder"/>: everything goes into
    /// checkpoint/epoch-N.tmp, is flushed to disk with its SHA256SUMS, and the folder is renamed to checkpoint/epoch-N
    /// in one step. The checkpoint counts only once run.json records it (the caller's next, atomic, write): a crash
    /// before that leaves the run at its previous epoch, whose folder is still there.
    /// </summary>
    public static CheckpointRecord Write(string runFolder, int epoch, Architecture architecture, Func<string, string> saveFramework)
    {
        string name = $"epoch-{epoch:D4}";
        string root = Path.Combine(runFolder, RootFolder), final = Path.Combine(root, name), temp = final + ".tmp";
        FaultInjection.Step($"create {RootFolder}/{name}.tmp");
        foreach (string stale in new[] { temp, final }) if (Directory.Exists(stale)) Directory.Delete(stale, recursive: true);
        Directory.CreateDirectory(temp);

        FaultInjection.Step($"save the model into {name}.tmp");
        string modelFile = saveFramework(temp);
        architecture.WriteTo(temp);
        var files = Directory.GetFiles(temp).Select(Path.GetFileName).OfType<string>().ToList();
        foreach (string file in files) AtomicFile.SyncFile(Path.Combine(temp, file));
        var sums = Checksums.WriteFolder(temp, files);
        AtomicFile.SyncFolder(temp);

        FaultInjection.Step($"rename {name}.tmp to {name}");
        Directory.Move(temp, final);
        AtomicFile.SyncFolder(root);
        return new CheckpointRecord(epoch, $"{RootFolder}/{name}", modelFile, sums);
    }

    public const string RootFolder = "checkpoint";

    /// <summary>
    /// Removes every checkpoint folder but <paramref name="keep"/> (older epochs once a newer one is recorded, and
    /// leftovers of a crash), so nothing stale can block or be mistaken for the run's state.
    /// </summary>
    public static void RemoveOthers(string runFolder, CheckpointRecord? keep)
    {
        string root = Path.Combine(runFolder, RootFolder);
        if (!Directory.Exists(root)) return;
        string? kept = keep is null ? null : Path.GetFileName(keep.Folder);
        foreach (string entry in Directory.GetFileSystemEntries(root).Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(entry) == kept) continue;
            FaultInjection.Step($"remove {RootFolder}/{Path.GetFileName(entry)}");
            if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
            else File.Delete(entry);
        }
    }

    /// <summary>
    /// The checkpoint's folder, after checking that it is the one run.json's history belongs to and that every file
    /// is there with its recorded SHA-256; anything else is an error naming the file, never a silent mix of epochs.
    /// </summary>
    public string VerifiedFolder(string runFolder, int historyEpochs)
    {
        string runJson = Path.Combine(runFolder, Reporting.RunFiles.Run);
        if (Epoch != historyEpochs)
            throw new InvalidDataException($"{runJson}: the checkpoint is of epoch {Epoch} but the history has {historyEpochs} epoch(s); the run folder is inconsistent.");
        string folder = Path.Combine(runFolder, Folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{folder}: the checkpoint run.json records is missing; the run cannot continue from it.");
        foreach (var (file, sum) in Sha256) Checksums.Check(Path.Combine(folder, file), sum, runJson);
        return folder;
    }
}
