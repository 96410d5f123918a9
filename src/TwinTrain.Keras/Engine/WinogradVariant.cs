namespace TwinTrain.Keras.Engine;

/// <summary>
/// Which of Winograd's algorithms a convolution runs: F(2x2, 3x3) (<see cref="Winograd"/>, 16 products per tile) or
/// F(4x4, 3x3) (<see cref="Winograd4"/>, 36 per tile of four times the outputs). The larger tile needs 44% fewer
/// multiplications, but its products have a quarter of the rows (tiles) and its edge tiles waste more on odd sizes.
/// The transforms take a group: the planes then hold that many images' tiles one after another (an image's start at
/// the pointer given), so one product per element serves the whole group.
/// </summary>
internal sealed unsafe class WinogradVariant
{
    readonly bool _four;

    WinogradVariant(bool four) => _four = four;

    public static readonly WinogradVariant F2 = new(four: false), F4 = new(four: true);

    /// <summary>
    /// F(4x4, 3x3) where its tiles cover the outputs as tightly as F(2x2, 3x3)'s (36 x its tiles at most 0.6 of
    /// 16 x the small tiles'; exactly 0.5625 when both fit alike) and leave each image at least
    /// <see cref="MinimumLargeTiles"/> tiles (rows of its products); else F(2x2, 3x3). Measured per layer in one
    /// process (bench's profile, 2 threads, batch 64): cifar-bn's 16x16 convolution took 3.4 + 7.6 ms with the large
    /// tile against 4.0 + 8.5 ms with the small one, but the study's 13x13 one (large tiles cover 16x16, small ones
    /// 14x14; ratio 0.73) 3.1 ms forward against 2.9.
    /// </summary>
    public static WinogradVariant For(in ConvGeometry g) =>
        Winograd4.Tiles(g) >= MinimumLargeTiles && 36L * Winograd4.Tiles(g) <= 0.6 * 16 * Winograd.Tiles(g) ? F4 : F2;

    const int MinimumLargeTiles = 16;

    public int Elements => _four ? Winograd4.Elements : 16;
    public string Name => _four ? "F(4x4, 3x3)" : "F(2x2, 3x3)";
    public int Tiles(in ConvGeometry g) => _four ? Winograd4.Tiles(g) : Winograd.Tiles(g);

    public void TransformKernel(float* kernel, int channels, int filters, float* u)
    {
        if (_four) Winograd4.TransformKernel(kernel, channels, filters, u);
        else Winograd.TransformKernel(kernel, channels, filters, u);
    }

    public void TransformInput(in ConvGeometry g, float* image, float* v, int group)
    {
        if (_four) Winograd4.TransformInput(g, image, v, group);
        else Winograd.TransformInput(g, image, v, group);
    }

    public void TransformOutput(in ConvGeometry g, int filters, float* m, int group, float* bias, bool relu, float* output)
    {
        if (_four) Winograd4.TransformOutput(g, filters, m, group, bias, relu, output);
        else Winograd.TransformOutput(g, filters, m, group, bias, relu, output);
    }

    public void TransformGradient(in ConvGeometry g, int filters, float* dy, float* dz, int group)
    {
        if (_four) Winograd4.TransformGradient(g, filters, dy, dz, group);
        else Winograd.TransformGradient(g, filters, dy, dz, group);
    }

    public void AddKernelGradient(float* du, int channels, int filters, float* kernelGradient)
    {
        if (_four) Winograd4.AddKernelGradient(du, channels, filters, kernelGradient);
        else Winograd.AddKernelGradient(du, channels, filters, kernelGradient);
    }
}
