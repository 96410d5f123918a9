namespace TwinTrain.Keras.Layers;

/// <summary>Keras's default initialisation: Glorot-uniform kernels (biases stay zero).</summary>
internal static class Initializers
{
    public static void GlorotUniform(Span<float> values, int fanIn, int fanOut, Random random)
    {
        double limit = Math.Sqrt(6.0 / (fanIn + fanOut));
        for (int i = 0; i < values.Length; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * limit);
    }
}
