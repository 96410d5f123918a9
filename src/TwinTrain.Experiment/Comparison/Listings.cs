using System.Reflection;
using TwinTrain.Experiment.Frameworks;

namespace TwinTrain.Experiment.Comparison;

/// <summary>One framework's model-and-training code, as compiled into its assembly from the real source files.</summary>
public sealed record Listing(string Framework, IReadOnlyList<(string File, string Code)> Files)
{
    const string Prefix = "listing/";

    /// <summary>The language of the code fence: C# for the .NET frameworks, Python for a worker's.</summary>
    public string Language => Files.All(f => f.File.EndsWith(".py", StringComparison.Ordinal)) ? "python" : "csharp";

    /// <summary>Lines that are not blank and not comments only: the code a user writes.</summary>
    public int CodeLines => Files.Sum(f => f.Code.Split('\n').Count(l =>
    {
        string t = l.Trim();
        return t.Length > 0 && !t.StartsWith("//", StringComparison.Ordinal);
    }));

    /// <summary>The files <paramref name="assembly"/> embeds as listing/FILE (see its project's EmbeddedResource items); null when none.</summary>
    public static Listing? Embedded(string framework, Assembly assembly)
    {
        var files = assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .Select(n => (n[Prefix.Length..], Read(assembly, n))).ToList();
        return files.Count == 0 ? null : new Listing(framework, files);
    }

    static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"Missing listing {name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Replace("\r\n", "\n").TrimEnd() + "\n";
    }
}

public static class Listings
{
    /// <summary>The study's CNN and its training in each framework named (default: the study's pair), from their providers.</summary>
    public static IReadOnlyList<Listing> Load(IReadOnlyList<string>? frameworks = null) =>
        [.. (frameworks ?? FrameworkCatalog.DefaultComparison).Select(FrameworkCatalog.Find).OfType<FrameworkProvider>()
            .Select(p => p.Listing).OfType<Listing>()];
}
