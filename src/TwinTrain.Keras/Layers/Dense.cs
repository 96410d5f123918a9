using System.Numerics.Tensors;
using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras.Layers;

/// <summary>A fully connected layer: output = activation(input · kernel + bias), kernel of shape (inputs, units).</summary>
public sealed class Dense : Layer
{
    AlignedBuffer _kernelTransposed = new(0);

    public Dense(int units, string? activation = null, int[]? inputShape = null, string? name = null, bool useBias = true) : base(name)
    {
        if (units < 1) throw new ArgumentOutOfRangeException(nameof(units), "Dense needs at least one unit.");
        Units = units;
        Activation = Activations.Parse(activation);
        UseBias = useBias;
        DeclaredInputShape = inputShape;
    }

    /// <summary>Keras's Dense arguments; what this engine does not implement is refused, naming the option.</summary>
    public static Layer FromConfig(LayerConfig c)
    {
        int units = c.Int("units");
        string activation = c.Activation("activation", "linear", "relu", "softmax");
        bool useBias = c.Bool("use_bias", true);
        c.Initializer("kernel_initializer", "GlorotUniform");
        c.Initializer("bias_initializer", "Zeros");
        foreach (string key in new[] { "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint", "lora_rank", "lora_alpha", "quantization_config" })
            c.Absent(key, "regularizers, constraints, LoRA and quantization are not implemented");
        return new Dense(units, activation, name: c.Name, useBias: useBias);
    }

    public int Units { get; }
    public bool UseBias { get; }
    public Activation Activation { get; }
    internal override bool CanFuseRelu => Activation == Activation.Linear;
    internal override bool EndsInRelu => Activation == Activation.Relu || FuseRelu;
    Activation EffectiveActivation => FuseRelu ? Activation.Relu : Activation;
    public int[]? DeclaredInputShape { get; }
    public Variable Kernel { get; private set; } = null!;
    /// <summary>The bias, or null without use_bias.</summary>
    public Variable? Bias { get; private set; }
    Variable[] _weights = [];
    public override IReadOnlyList<Variable> Weights => _weights;
    int Inputs => InputShape[0];

    protected override int[] ComputeOutputShape(int[] inputShape)
    {
        if (inputShape.Length != 1)
            throw ShapeError(inputShape, "Dense expects a flat input of rank 1 (per sample); add a Flatten layer before it.");
        return [Units];
    }

    protected override void CreateWeights(Random random)
    {
        Kernel = new Variable("kernel", [Inputs, Units]);
        Bias = UseBias ? new Variable("bias", [Units]) : null;
        _weights = Bias is null ? [Kernel] : [Kernel, Bias];
        Initializers.GlorotUniform(Kernel.Value, Inputs, Units, random);
        _kernelTransposed = new AlignedBuffer(Kernel.Size);
        OnWeightsChanged();
    }

    /// <summary>Keeps kernelᵀ (units x inputs) for the input gradient, which the GEMM wants row-major.</summary>
    internal override void OnWeightsChanged() => Transpose.Matrix(Kernel.Value, Inputs, Units, _kernelTransposed.Span);

    internal override unsafe void Call(ReadOnlySpan<float> input, Span<float> output, int batch, in CallContext context, Span<float> scratch)
    {
        fixed (float* x = input, y = output, w = Kernel.Value)
            Gemm.Multiply(batch, Units, Inputs, x, Inputs, 1, w, Units, y, Units, accumulate: false);
        var result = output[..(batch * Units)];
        if (Bias is not null)
        {
            for (int n = 0; n < batch; n++)
            {
                var row = result.Slice(n * Units, Units);
                TensorPrimitives.Add(row, Bias.Value, row);
            }
        }
        if (!DeferActivation) Activations.Forward(EffectiveActivation, result, Units);
    }

    internal override unsafe void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> outputGradient,
        Span<float> inputGradient, int batch, float[][] weightGradients, Span<float> scratch, bool preActivation = false)
    {
        var gradient = outputGradient[..(batch * Units)];
        if (!preActivation) Activations.Backward(EffectiveActivation, output, gradient, Units);
        float[] kernelGradient = weightGradients[0];
        if (UseBias)
        {
            float[] biasGradient = weightGradients[1];
            for (int n = 0; n < batch; n++) TensorPrimitives.Add(biasGradient, gradient.Slice(n * Units, Units), biasGradient);
        }
        fixed (float* x = input, dy = gradient, dw = kernelGradient, wt = _kernelTransposed.Span, dx = inputGradient)
        {
            // dW (inputs x units) += xᵀ · dy
            Gemm.Multiply(Inputs, Units, batch, x, 1, Inputs, dy, Units, dw, Units, accumulate: true);
            // dx (batch x inputs) = dy · Wᵀ
            if (!inputGradient.IsEmpty) Gemm.Multiply(batch, Inputs, Units, dy, Units, 1, wt, Inputs, dx, Inputs, accumulate: false);
        }
    }

    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["units"] = Units;
        config["activation"] = Activations.Name(Activation);
        config["use_bias"] = UseBias;
        config["kernel_initializer"] = KerasObjects.Initializer("GlorotUniform");
        config["bias_initializer"] = KerasObjects.Initializer("Zeros");
        foreach (string key in new[] { "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint", "quantization_config" })
            config[key] = null;
        return config;
    }
}
