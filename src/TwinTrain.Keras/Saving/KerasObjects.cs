namespace TwinTrain.Keras.Saving;

/// <summary>The serialized objects Keras 3 writes inside configs (dtype policies, initializers), as get_config dictionaries.</summary>
internal static class KerasObjects
{
    public static Dictionary<string, object?> Object(string module, string className, Dictionary<string, object?> config) => new()
    {
        ["module"] = module,
        ["class_name"] = className,
        ["config"] = config,
        ["registered_name"] = null,
    };

    public static Dictionary<string, object?> DtypePolicy => Object("keras", "DTypePolicy", new() { ["name"] = "float32" });

    public static Dictionary<string, object?> Initializer(string className) =>
        Object("keras.initializers", className, className == "GlorotUniform"
            // GlorotUniform's get_config since Keras 3.15.0 (keras/src/initializers/random_initializers.py).
            ? new() { ["seed"] = null, ["input_axes"] = null, ["output_axes"] = null } : []);
}
