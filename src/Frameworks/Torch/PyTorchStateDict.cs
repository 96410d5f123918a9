using TwinTrain.Data.Formats;
using static TorchSharp.torch;

namespace TwinTrain.Frameworks.Torch;

/// <summary>
/// Loads a PyTorch state_dict file into a module as load_state_dict(strict=True) does: every name and shape is
/// compared with the module's own state_dict first, and any missing key, unexpected key or size mismatch is refused,
/// all of them named in one message. Tensors are read as stored (views, shared storages, float16/bfloat16/float64)
/// and copied into the module's own.
/// </summary>
internal static class PyTorchStateDict
{
    public static void LoadInto(nn.Module module, string path, string modelName)
    {
        var file = TorchStateDict.Read(path);
        foreach (string note in file.Notes) Console.Error.WriteLine($"note: {note}");
        var expected = module.state_dict();

        var problems = new List<string>();
        var missing = expected.Keys.Where(k => !file.Tensors.ContainsKey(k)).ToList();
        var unexpected = file.Tensors.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0) problems.Add($"missing key(s) {string.Join(", ", missing.Select(k => $"\"{k}\""))}");
        if (unexpected.Count > 0) problems.Add($"unexpected key(s) {string.Join(", ", unexpected.Select(k => $"\"{k}\""))}");
        foreach (var (name, target) in expected)
        {
            if (file.Tensors.TryGetValue(name, out var stored) && !stored.Shape.SequenceEqual(target.shape))
                problems.Add($"size mismatch for {name}: copying a param with shape [{string.Join(", ", stored.Shape)}] from the file, the shape in the model is [{string.Join(", ", target.shape)}]");
        }
        if (problems.Count > 0)
            throw new InvalidDataException($"{path}: error(s) in loading the state_dict for {modelName}: {string.Join("; ", problems)}.");

        using var noGrad = no_grad();
        foreach (var (name, target) in expected)
        {
            var stored = file.Tensors[name];
            using var value = target.is_floating_point()
                ? tensor(stored.ToFloat32(), stored.Shape)
                : tensor(stored.ToInt64(), stored.Shape);
            target.copy_(value);
        }
    }
}
