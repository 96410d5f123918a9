using System.Reflection;
using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras.Saving;

/// <summary>Names a layer's Keras class where the C# type's name differs from it (as for the Activation layer).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class KerasClassAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>
/// The layers a model config can name, found once by reflection: every layer type with a public static
/// <c>FromConfig(LayerConfig)</c> registers itself under its Keras class name, as Keras's own registry does.
/// Adding a layer touches only its own file.
/// </summary>
public static class LayerRegistry
{
    static readonly Dictionary<string, Func<LayerConfig, Layer>> Factories = typeof(Layer).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(Layer)) && !t.IsAbstract)
        .Select(t => (Type: t, Method: t.GetMethod("FromConfig", BindingFlags.Public | BindingFlags.Static, [typeof(LayerConfig)])))
        .Where(p => p.Method is not null)
        .ToDictionary(p => ClassName(p.Type), p => (Func<LayerConfig, Layer>)p.Method!.CreateDelegate(typeof(Func<LayerConfig, Layer>)));

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    public static string ClassName(Type type) => type.GetCustomAttribute<KerasClassAttribute>(inherit: false)?.Name ?? type.Name;

    public static bool Knows(string className) => Factories.ContainsKey(className);

    /// <summary>The layer the config describes; every option is read or refused.</summary>
    public static Layer Create(LayerConfig config)
    {
        if (!Factories.TryGetValue(config.ClassName, out var factory))
            throw config.Error($"unknown layer class; supported: InputLayer, {string.Join(", ", Factories.Keys.Order(StringComparer.Ordinal))}");
        var layer = factory(config);
        config.EnsureAllRead();
        return layer;
    }
}
