using System.Runtime.Intrinsics;

namespace TwinTrain.Keras.Engine;

/// <summary>Geometry of a 2-D window operation (convolution) on one channels-last image.</summary>
internal readonly record struct ConvGeometry(
    int Height, int Width, int Channels, int KernelHeight, int KernelWidth,
    int StrideHeight, int StrideWidth, int PadTop, int PadLeft, int OutHeight, int OutWidth)
{
    /// <summary>Values per im2col row: one window, kernel rows x kernel columns x channels (Keras's kernel order).</summary>
    public int WindowSize => KernelHeight * KernelWidth * Channels;
    public int OutPixels => OutHeight * OutWidth;

    /// <summary>Valid and stride 1: every window lies inside the image, and a kernel row is consecutive floats of it.</summary>
    public bool IsValidStrideOne => StrideHeight == 1 && StrideWidth == 1 && PadTop == 0 && PadLeft == 0
        && OutHeight == Height - KernelHeight + 1 && OutWidth == Width - KernelWidth + 1;
}

/// <summary>
/// im2col and its adjoint: each output pixel's receptive window copied into one row, so a convolution becomes one
/// matrix product with the (kh*kw*in, out) kernel. Out-of-image taps (same padding) read as zero.
/// </summary>
internal static unsafe class Im2Col
{
    /// <summary>
    /// Writes one row per output pixel: the window's values (kernel rows x kernel columns x channels), then
    /// <paramref name="extraOnes"/> columns of 1 (so a bias row appended to the kernel adds the bias in the same product).
    /// Row stride is WindowSize + extraOnes; the target needs 8 floats of room past its end.
    /// </summary>
    public static void Gather(in ConvGeometry g, float* image, float* cols, int extraOnes = 0)
    {
        bool simd = Gemm.UseSimd;
        if (simd && g.IsValidStrideOne)
        {
            GatherValid(g, image, cols, extraOnes);
            return;
        }
        int rowWidth = g.KernelWidth * g.Channels;
        float* imageEnd = image + (long)g.Height * g.Width * g.Channels;
        for (int oy = 0; oy < g.OutHeight; oy++)
        {
            for (int ox = 0; ox < g.OutWidth; ox++)
            {
                int left = ox * g.StrideWidth - g.PadLeft;
                bool inside = left >= 0 && left + g.KernelWidth <= g.Width;
                for (int ky = 0; ky < g.KernelHeight; ky++)
                {
                    int iy = oy * g.StrideHeight + ky - g.PadTop;
                    if (iy < 0 || iy >= g.Height)
                    {
                        new Span<float>(cols, rowWidth).Clear();
                    }
                    else if (inside)
                    {
                        VectorOps.CopyOverrun(image + (iy * g.Width + left) * g.Channels, cols, rowWidth, imageEnd, simd);
                    }
                    else
                    {
                        for (int kx = 0; kx < g.KernelWidth; kx++)
                        {
                            int ix = left + kx;
                            var target = new Span<float>(cols + kx * g.Channels, g.Channels);
                            if (ix < 0 || ix >= g.Width) target.Clear();
                            else new ReadOnlySpan<float>(image + (iy * g.Width + ix) * g.Channels, g.Channels).CopyTo(target);
                        }
                    }
                    cols += rowWidth;
                }
                for (int e = 0; e < extraOnes; e++) *cols++ = 1f;
            }
        }
    }

    /// <summary>Valid, stride 1: every window lies inside the image, so each kernel row is one straight copy.</summary>
    static void GatherValid(in ConvGeometry g, float* image, float* cols, int extraOnes)
    {
        int rowWidth = g.KernelWidth * g.Channels, imageRow = g.Width * g.Channels, whole = rowWidth & ~7;
        for (int oy = 0; oy < g.OutHeight; oy++)
        {
            float* source = image + oy * imageRow;
            for (int ox = 0; ox < g.OutWidth; ox++, source += g.Channels)
            {
                for (int ky = 0; ky < g.KernelHeight; ky++, cols += rowWidth)
                {
                    float* row = source + ky * imageRow;
                    int i = 0;
                    for (; i < whole; i += 8) Vector256.Load(row + i).Store(cols + i);
                    for (; i < rowWidth; i++) cols[i] = row[i];
                }
                for (int e = 0; e < extraOnes; e++) *cols++ = 1f;
            }
        }
    }

    /// <summary>Adds each im2col row (row stride WindowSize) back onto the image pixels it came from; clear the image first.</summary>
    public static void ScatterAdd(in ConvGeometry g, float* cols, float* image)
    {
        int rowWidth = g.KernelWidth * g.Channels;
        bool simd = Gemm.UseSimd;
        for (int oy = 0; oy < g.OutHeight; oy++)
        {
            for (int ox = 0; ox < g.OutWidth; ox++)
            {
                int left = ox * g.StrideWidth - g.PadLeft;
                bool inside = left >= 0 && left + g.KernelWidth <= g.Width;
                for (int ky = 0; ky < g.KernelHeight; ky++)
                {
                    int iy = oy * g.StrideHeight + ky - g.PadTop;
                    if (iy >= 0 && iy < g.Height)
                    {
                        if (inside)
                        {
                            VectorOps.AddInto(cols, image + (iy * g.Width + left) * g.Channels, rowWidth, simd);
                        }
                        else
                        {
                            for (int kx = 0; kx < g.KernelWidth; kx++)
                            {
                                int ix = left + kx;
                                if (ix >= 0 && ix < g.Width) VectorOps.AddInto(cols + kx * g.Channels, image + (iy * g.Width + ix) * g.Channels, g.Channels, simd);
                            }
                        }
                    }
                    cols += rowWidth;
                }
            }
        }
    }
}
