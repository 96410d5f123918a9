using TwinTrain.Keras.Layers;
using TwinTrain.Keras.Saving;

namespace TwinTrain.Keras;

/// <summary>
/// One layer's share of a training step, measured by <see cref="Sequential.ProfileTraining"/>: its forward and
/// backward seconds per step (each worker's own time in the layer, averaged over the workers, which run side by
/// side), and the multiply-adds of its dense work per step counted as direct products (a convolution's or a dense
/// layer's; zero for the others), whatever the engine actually does (Winograd, skipped zeros). A layer whose work
/// another layer's pass does (a ReLU fused into the convolution before it) shows no time of its own.
/// </summary>
public sealed record LayerTiming(string Layer, string Description, double ForwardSeconds, double BackwardSeconds, double ForwardFlops, double BackwardFlops)
{
    /// <summary>The direct FLOPs of the layer's dense work for <paramref name="images"/> images: forward, and backward (the first layer computes no input gradient).</summary>
    public static (double Forward, double Backward) DenseFlops(Layer layer, bool first, int images)
    {
        double macs = layer switch
        {
            Conv2D conv => (double)conv.OutputSize * conv.KernelSize.Height * conv.KernelSize.Width * conv.InputShape[2],
            Dense dense => (double)dense.InputSize * dense.Units,
            _ => 0,
        };
        return (2 * macs * images, 2 * macs * images * (first ? 1 : 2));
    }

    /// <summary>What the layer is, in a few words: its class and, for a convolution, its kernel, stride and channels.</summary>
    internal static string Describe(Layer layer) => layer switch
    {
        Conv2D conv => $"Conv2D {conv.KernelSize.Height}x{conv.KernelSize.Width}/{conv.Strides.Height} {conv.InputShape[2]}→{conv.Filters}, {conv.Padding}",
        Dense dense => $"Dense {dense.InputSize}→{dense.Units}",
        _ => $"{LayerRegistry.ClassName(layer.GetType())} on {string.Join("x", layer.InputShape)}",
    };
}
