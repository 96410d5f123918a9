using System.Reflection;

namespace TwinTrain.Experiment.Comparison;

/// <summary>One framework's model-and-training code, as compiled into this assembly from the real source files.</summary>
public sealed record Listing(string Framework, IReadOnlyList<(string File, string Code)> Files)
{
    /// <summary>The language of the code fence: C# for the .NET frameworks, Python for a worker's.</summary>
    public string Language => Files.All(f => f.File.EndsWith(".py", StringComparison.Ordinal)) ? "python" : "csharp";

    /// <summary>Lines that are not blank and not comments only: the code a user writes.</summary>
    public int CodeLines => Files.Sum(f => f.Code.Split('\n').Count(l =>
    {
        string t = l.Trim();
        return t.Length > 0 && !t.StartsWith("//", StringComparison.Ordinal);
    }));
}

public static class Listings
{
    /// <summary>The study's CNN and its training in each framework (see the EmbeddedResource items of this project).</summary>
    public static IReadOnlyList<Listing> Load(IReadOnlyList<string>? frameworks = null)
    {
        var assembly = typeof(Listings).Assembly;
        var result = new List<Listing>();
        foreach (string framework in frameworks ?? ["keras", "torch"])
        {
            string prefix = $"listing/{framework}/";
            if (!assembly.GetManifestResourceNames().Any(n => n.StartsWith(prefix, StringComparison.Ordinal))) continue;
            var files = assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal)
                .Select(n => (n[prefix.Length..], Read(assembly, n))).ToList();
            result.Add(new Listing(framework, files));
        }
        return result;
    }

    static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"Missing listing {name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Replace("\r\n", "\n").TrimEnd() + "\n";
    }
}
