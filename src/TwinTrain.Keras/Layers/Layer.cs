using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>
/// A Keras layer's lifecycle: configuration in the constructor (or <c>FromConfig</c>, which registers the layer by its
/// Keras class name), <see cref="Build"/> once the input shape is known (creates the weights), <see cref="Call"/> for
/// the forward pass, <see cref="Backward"/> for gradients, and <see cref="GetConfig"/> to describe it as Keras does.
/// Shapes exclude the batch dimension and are channels-last (H, W, C).
/// </summary>
public abstract class Layer
{
    static readonly Dictionary<string, int> NameCounts = [];

    /// <summary>The most values one weight or one sample's activation may hold (1 GiB of floats): larger is a mistake in the config.</summary>
    public const long MaxElements = 1L << 28;

    protected Layer(string? name)
    {
        Name = name ?? UniqueName(LayerRegistry.ClassName(GetType()));
    }

    public string Name { get; }
    public int[] InputShape { get; private set; } = [];
    public int[] OutputShape { get; private set; } = [];
    public bool Built { get; private set; }

    /// <summary>Every weight, trainable first, in Keras's order (as layer.weights).</summary>
    public virtual IReadOnlyList<Variable> Weights => [];

    /// <summary>The weights the optimizer updates (gradients come in this order).</summary>
    public IReadOnlyList<Variable> TrainableWeights { get; private set; } = [];

    /// <summary>Values per sample in and out (set by <see cref="Build"/>: the hot loops read them per image).</summary>
    public int InputSize { get; private set; }
    public int OutputSize { get; private set; }
    public long ParameterCount => Weights.Sum(w => (long)w.Size);
    public long TrainableParameterCount => TrainableWeights.Sum(w => (long)w.Size);

    /// <summary>
    /// Set by the model when this last layer's softmax is fused into the loss: the layer then outputs logits and
    /// receives gradients with respect to them.
    /// </summary>
    internal bool DeferActivation { get; set; }

    /// <summary>Whether a ReLU right after this layer can be computed inside it (its own activation is linear).</summary>
    internal virtual bool CanFuseRelu => false;

    /// <summary>
    /// Set by the executor when a separate ReLU layer follows and this layer computes it instead (in its GEMM epilogue
    /// or normalisation pass); the ReLU layer is then skipped.
    /// </summary>
    internal bool FuseRelu { get; set; }

    /// <summary>Whether this layer's output is a ReLU's (its own activation, or a fused ReLU layer).</summary>
    internal virtual bool EndsInRelu => FuseRelu;

    public void Build(int[] inputShape, Random random)
    {
        InputShape = inputShape;
        InputSize = Elements(inputShape, "input");
        OutputShape = ComputeOutputShape(inputShape);
        OutputSize = Elements(OutputShape, "output");
        CreateWeights(random);
        TrainableWeights = Weights.Where(w => w.Trainable).ToArray();
        Built = true;
    }

    int Elements(int[] shape, string what)
    {
        long size = 1;
        foreach (int d in shape)
        {
            if (d < 1) throw ShapeError(InputShape, $"its {what} shape {Format(shape)} has a size below 1.");
            size *= d;
            if (size > MaxElements) throw ShapeError(InputShape, $"its {what} of shape {Format(shape)} would hold more than {MaxElements:N0} values per sample.");
        }
        return (int)size;
    }

    /// <summary>The output shape for an input shape, or an error saying why this layer cannot take it.</summary>
    protected abstract int[] ComputeOutputShape(int[] inputShape);

    protected virtual void CreateWeights(Random random) { }

    /// <summary>Floats of scratch memory one worker needs to run this layer on <paramref name="batch"/> samples.</summary>
    internal virtual int ScratchSize(int batch) => 0;

    /// <summary>
    /// Keras's <c>layer(inputs)</c> in inference: the layer alone on samples laid out one after another (their count
    /// is the length over <see cref="InputSize"/>), its own activation only, whatever the model it sits in fuses.
    /// </summary>
    public float[] Call(float[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (!Built) throw new InvalidOperationException($"Layer '{Name}' is not built: build it, or the model it is in, first.");
        if (inputs.Length == 0 || inputs.Length % InputSize != 0)
            throw new ArgumentException($"Layer '{Name}' takes samples of {InputSize:N0} values ({Format(InputShape)}); got {inputs.Length:N0} values.", nameof(inputs));
        int batch = inputs.Length / InputSize;
        var output = new float[(long)batch * OutputSize];
        bool fuse = FuseRelu, defer = DeferActivation;
        (FuseRelu, DeferActivation) = (false, false);
        try
        {
            OnWeightsChanged();
            Call(inputs, output, batch, CallContext.Inference, new float[ScratchSize(batch)]);
        }
        finally
        {
            (FuseRelu, DeferActivation) = (fuse, defer);
        }
        return output;
    }

    /// <summary>Forward pass over <paramref name="batch"/> samples laid out one after another.</summary>
    internal abstract void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch);

    /// <summary>
    /// Backward pass. <paramref name="outputGradient"/> holds d(loss)/d(output) and may be overwritten. Writes
    /// d(loss)/d(input) into <paramref name="inputGradient"/> unless it is empty (the first layer needs none), and adds
    /// each trainable weight's gradient into <paramref name="weightGradients"/> (one array per entry of
    /// <see cref="TrainableWeights"/>). With <paramref name="preActivation"/> the gradient is already with respect to the
    /// activation's input (softmax fused with cross-entropy, or a ReLU's derivative applied by the max pooling after it).
    /// </summary>
    internal abstract void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false);

    /// <summary>Called after the weights change (optimizer step, SetWeights), for layers that keep derived copies.</summary>
    internal virtual void OnWeightsChanged() { }

    /// <summary>The layer's Keras config: what Keras's get_config returns for it, so Keras can rebuild it.</summary>
    public virtual Dictionary<string, object?> GetConfig() => new()
    {
        ["name"] = Name,
        ["trainable"] = true,
        ["dtype"] = KerasObjects.DtypePolicy,
    };

    protected InvalidOperationException ShapeError(int[] inputShape, string why) =>
        new($"Layer '{Name}' ({LayerRegistry.ClassName(GetType())}) cannot take input of shape {Format(inputShape)}: {why}");

    public static string Format(int[] shape) => "(None, " + string.Join(", ", shape) + ")";

    /// <summary>Keras's naming.to_snake_case of a class name (ReLU: re_lu, MaxPooling2D: max_pooling2d).</summary>
    internal static string SnakeCase(string typeName)
    {
        string snake = System.Text.RegularExpressions.Regex.Replace(typeName, "(.)([A-Z][a-z]+)", "$1_$2");
        return System.Text.RegularExpressions.Regex.Replace(snake, "([a-z])([A-Z])", "$1_$2").ToLowerInvariant();
    }

    /// <summary>Keras's default layer name: the class name in snake case (ReLU: re_lu, MaxPooling2D: max_pooling2d), numbered from the second.</summary>
    static string UniqueName(string typeName)
    {
        string baseName = SnakeCase(typeName);
        lock (NameCounts)
        {
            int n = NameCounts.GetValueOrDefault(baseName);
            NameCounts[baseName] = n + 1;
            return n == 0 ? baseName : $"{baseName}_{n}";
        }
    }
}
