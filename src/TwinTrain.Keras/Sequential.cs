using System.Globalization;
using System.Text;
using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras;

/// <summary>
/// A linear stack of layers, as Keras's Sequential. The first layer declares the input shape (H, W, C); building
/// infers every other shape and creates the weights, with a clear error where two layers do not fit.
/// </summary>
public sealed class Sequential
{
    public Sequential(params Layer[] layers) : this(seed: 0, layers) { }

    public Sequential(int seed, params Layer[] layers)
    {
        if (layers.Length == 0) throw new ArgumentException("A Sequential model needs at least one layer.");
        Layers = layers;
        int[] shape = DeclaredInputShape(layers[0])
            ?? throw new ArgumentException($"The first layer ('{layers[0].Name}') must declare inputShape.");
        var random = new Random(seed);
        InputShape = shape;
        foreach (var layer in layers)
        {
            layer.Build(shape, random);
            shape = layer.OutputShape;
        }
    }

    public IReadOnlyList<Layer> Layers { get; }
    public int[] InputShape { get; }
    public int[] OutputShape => Layers[^1].OutputShape;
    public long ParameterCount => Layers.Sum(l => l.ParameterCount);

    static int[]? DeclaredInputShape(Layer layer) => layer switch
    {
        Conv2D conv => conv.DeclaredInputShape,
        Dense dense => dense.DeclaredInputShape,
        _ => null,
    };

    /// <summary>A table like Keras's model.summary().</summary>
    public string Summary()
    {
        var text = new StringBuilder();
        string rule = new('─', 65);
        text.AppendLine("Model: \"sequential\"");
        text.AppendLine(rule);
        text.AppendLine($"{"Layer (type)",-30}{"Output Shape",-22}{"Param #",13}");
        text.AppendLine(new string('━', 65));
        foreach (var layer in Layers)
        {
            text.AppendLine($"{$"{layer.Name} ({layer.GetType().Name})",-30}{Layer.Format(layer.OutputShape),-22}{layer.ParameterCount.ToString("N0", CultureInfo.InvariantCulture),13}");
        }
        text.AppendLine(rule);
        text.AppendLine($" Total params: {ParameterCount.ToString("N0", CultureInfo.InvariantCulture)}");
        text.AppendLine($" Trainable params: {ParameterCount.ToString("N0", CultureInfo.InvariantCulture)}");
        text.AppendLine(" Non-trainable params: 0");
        return text.ToString();
    }
}
