namespace TwinTrain.Keras.Layers;

/// <summary>A fully connected layer: output = activation(input · kernel + bias), kernel of shape (inputs, units).</summary>
public sealed class Dense : Layer
{
    public Dense(int units, string? activation = null, int[]? inputShape = null, string? name = null) : base(name)
    {
        if (units < 1) throw new ArgumentOutOfRangeException(nameof(units), "Dense needs at least one unit.");
        Units = units;
        Activation = Activations.Parse(activation);
        DeclaredInputShape = inputShape;
    }

    public int Units { get; }
    public Activation Activation { get; }
    public int[]? DeclaredInputShape { get; }
    public Variable Kernel { get; private set; } = null!;
    public Variable Bias { get; private set; } = null!;
    public override IReadOnlyList<Variable> Weights => [Kernel, Bias];

    protected override int[] ComputeOutputShape(int[] inputShape)
    {
        if (inputShape.Length != 1)
            throw ShapeError(inputShape, $"Dense expects a flat input of rank 1 (per sample); add a Flatten layer before it.");
        return [Units];
    }

    protected override void CreateWeights(Random random)
    {
        Kernel = new Variable("kernel", [InputShape[0], Units]);
        Bias = new Variable("bias", [Units]);
        Initializers.GlorotUniform(Kernel.Value, InputShape[0], Units, random);
    }

    public override void Call(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
    {
        int inputs = InputShape[0];
        float[] w = Kernel.Value, b = Bias.Value;
        for (int n = 0; n < batch; n++)
        {
            var x = input.Slice(n * inputs, inputs);
            var y = output.Slice(n * Units, Units);
            b.CopyTo(y);
            for (int i = 0; i < inputs; i++)
            {
                float xi = x[i];
                if (xi == 0f) continue;
                var row = w.AsSpan(i * Units, Units);
                for (int u = 0; u < Units; u++) y[u] += xi * row[u];
            }
        }
        Activations.Forward(Activation, output[..(batch * Units)], Units);
    }

    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch)
    {
        int inputs = InputShape[0];
        Activations.Backward(Activation, output, outputGradient[..(batch * Units)], Units);
        float[] w = Kernel.Value, dw = Kernel.Gradient, db = Bias.Gradient;
        for (int n = 0; n < batch; n++)
        {
            var x = input.Slice(n * inputs, inputs);
            var g = outputGradient.Slice(n * Units, Units);
            for (int u = 0; u < Units; u++) db[u] += g[u];
            for (int i = 0; i < inputs; i++)
            {
                var dwRow = dw.AsSpan(i * Units, Units);
                float xi = x[i];
                for (int u = 0; u < Units; u++) dwRow[u] += xi * g[u];
            }
            if (inputGradient.IsEmpty) continue;
            var dx = inputGradient.Slice(n * inputs, inputs);
            for (int i = 0; i < inputs; i++)
            {
                var row = w.AsSpan(i * Units, Units);
                float sum = 0f;
                for (int u = 0; u < Units; u++) sum += row[u] * g[u];
                dx[i] = sum;
            }
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["units"] = Units;
        config["activation"] = Activations.Name(Activation);
        return config;
    }
}
