namespace TwinTrain.Keras.Layers;

/// <summary>
/// A Keras layer's lifecycle: configuration in the constructor, <see cref="Build"/> once the input shape is known
/// (creates the weights), <see cref="Call"/> for the forward pass, <see cref="Backward"/> for gradients, and
/// <see cref="GetConfig"/> to describe it. Shapes exclude the batch dimension and are channels-last (H, W, C).
/// </summary>
public abstract class Layer
{
    static readonly Dictionary<string, int> NameCounts = [];

    protected Layer(string? name)
    {
        Name = name ?? UniqueName(GetType().Name);
    }

    public string Name { get; }
    public int[] InputShape { get; private set; } = [];
    public int[] OutputShape { get; private set; } = [];
    public bool Built { get; private set; }
    public virtual IReadOnlyList<Variable> Weights => [];
    /// <summary>Values per sample in and out (set by <see cref="Build"/>: the hot loops read them per image).</summary>
    public int InputSize { get; private set; }
    public int OutputSize { get; private set; }
    public long ParameterCount => Weights.Sum(w => (long)w.Size);

    /// <summary>
    /// Set by the model when this last layer's softmax is fused into the loss: the layer then outputs logits and
    /// receives gradients with respect to them.
    /// </summary>
    internal bool DeferActivation { get; set; }

    public void Build(int[] inputShape, Random random)
    {
        InputShape = inputShape;
        OutputShape = ComputeOutputShape(inputShape);
        InputSize = inputShape.Aggregate(1, (a, b) => a * b);
        OutputSize = OutputShape.Aggregate(1, (a, b) => a * b);
        CreateWeights(random);
        Built = true;
    }

    /// <summary>The output shape for an input shape, or an error saying why this layer cannot take it.</summary>
    protected abstract int[] ComputeOutputShape(int[] inputShape);

    protected virtual void CreateWeights(Random random) { }

    /// <summary>Floats of scratch memory one worker needs to run this layer on <paramref name="batch"/> samples.</summary>
    public virtual int ScratchSize(int batch) => 0;

    /// <summary>Forward pass over <paramref name="batch"/> samples laid out one after another.</summary>
    public abstract void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch);

    /// <summary>
    /// Backward pass. <paramref name="outputGradient"/> holds d(loss)/d(output) and may be overwritten. Writes
    /// d(loss)/d(input) into <paramref name="inputGradient"/> unless it is empty (the first layer needs none), and adds
    /// each weight's gradient into <paramref name="weightGradients"/> (one array per entry of <see cref="Weights"/>).
    /// With <paramref name="preActivation"/> the gradient is already with respect to the activation's input
    /// (softmax fused with cross-entropy).
    /// </summary>
    public abstract void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false);

    /// <summary>Called after the weights change (optimizer step, SetWeights), for layers that keep derived copies.</summary>
    public virtual void OnWeightsChanged() { }

    public virtual Dictionary<string, object?> GetConfig() => new() { ["name"] = Name };

    protected InvalidOperationException ShapeError(int[] inputShape, string why) =>
        new($"Layer '{Name}' ({GetType().Name}) cannot take input of shape {Format(inputShape)}: {why}");

    public static string Format(int[] shape) => "(None, " + string.Join(", ", shape) + ")";

    static string UniqueName(string typeName)
    {
        string baseName = string.Concat(typeName.Select((c, i) => i > 0 && char.IsUpper(c) && !char.IsDigit(typeName[i - 1]) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
        lock (NameCounts)
        {
            int n = NameCounts.GetValueOrDefault(baseName);
            NameCounts[baseName] = n + 1;
            return n == 0 ? baseName : $"{baseName}_{n}";
        }
    }
}
