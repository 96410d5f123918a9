using System.Runtime.Intrinsics;

namespace TwinTrain.Keras.Engine;

/// <summary>
/// Winograd's F(2x2, 3x3) for a 3x3, stride-1, valid convolution over channels-last images: each 2x2 block of
/// outputs comes from a 4x4 input tile through 16 element-wise products instead of 36, done as 16 matrix
/// products (tiles x in) · (in x out). Less than half the multiplications of the direct method, at the cost of
/// cheap transforms of inputs (Bᵀ d B), kernels (G g Gᵀ) and outputs (Aᵀ m A). Channels go eight to a vector.
/// </summary>
public static unsafe class Winograd
{
    /// <summary>Whether a convolution can take this path: 3x3 kernel, stride 1, valid padding, channels in eights, filters in sixteens.</summary>
    public static bool Applies(in ConvGeometry g, int filters) =>
        Gemm.UseSimd && g.KernelHeight == 3 && g.KernelWidth == 3 && g.StrideHeight == 1 && g.StrideWidth == 1 &&
        g.PadTop == 0 && g.PadLeft == 0 && g.Channels % 8 == 0 && filters % 16 == 0;

    public static int Tiles(in ConvGeometry g) => ((g.OutHeight + 1) / 2) * ((g.OutWidth + 1) / 2);

    /// <summary>U[e] (channels x filters) for e = 0..15, from a (3, 3, channels, filters) kernel: U = G g Gᵀ.</summary>
    public static void TransformKernel(float* kernel, int channels, int filters, float* u)
    {
        int plane = channels * filters;
        var g = stackalloc float[9];
        var t = stackalloc float[12];
        for (int c = 0; c < channels; c++)
        {
            for (int f = 0; f < filters; f++)
            {
                for (int k = 0; k < 9; k++) g[k] = kernel[(k * channels + c) * filters + f];
                for (int j = 0; j < 3; j++)
                {
                    t[j] = g[j];
                    t[3 + j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                    t[6 + j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                    t[9 + j] = g[6 + j];
                }
                for (int i = 0; i < 4; i++)
                {
                    float* row = t + 3 * i;
                    float* target = u + (4 * i) * plane + c * filters + f;
                    target[0] = row[0];
                    target[plane] = 0.5f * (row[0] + row[1] + row[2]);
                    target[2 * plane] = 0.5f * (row[0] - row[1] + row[2]);
                    target[3 * plane] = row[2];
                }
            }
        }
    }

    /// <summary>V[e] (tiles x channels) for e = 0..15: V = Bᵀ d B for every 4x4 input tile (zero past the image).</summary>
    public static void TransformInput(in ConvGeometry g, float* image, float* v)
    {
        int tilesHigh = (g.OutHeight + 1) / 2, tilesWide = (g.OutWidth + 1) / 2, channels = g.Channels;
        int plane = tilesHigh * tilesWide * channels;
        var d = stackalloc Vector256<float>[16];
        for (int ty = 0; ty < tilesHigh; ty++)
        for (int tx = 0; tx < tilesWide; tx++)
        {
            int tile = ty * tilesWide + tx;
            for (int c = 0; c < channels; c += 8)
            {
                for (int i = 0; i < 4; i++)
                {
                    int row = 2 * ty + i;
                    for (int j = 0; j < 4; j++)
                    {
                        int column = 2 * tx + j;
                        d[4 * i + j] = row < g.Height && column < g.Width
                            ? Vector256.Load(image + (row * g.Width + column) * channels + c)
                            : Vector256<float>.Zero;
                    }
                }
                // Bᵀ d: rows
                for (int j = 0; j < 4; j++)
                {
                    var d0 = d[j]; var d1 = d[4 + j]; var d2 = d[8 + j]; var d3 = d[12 + j];
                    d[j] = d0 - d2; d[4 + j] = d1 + d2; d[8 + j] = d2 - d1; d[12 + j] = d1 - d3;
                }
                // (Bᵀ d) B: columns
                float* target = v + tile * channels + c;
                for (int i = 0; i < 4; i++)
                {
                    var r0 = d[4 * i]; var r1 = d[4 * i + 1]; var r2 = d[4 * i + 2]; var r3 = d[4 * i + 3];
                    (r0 - r2).Store(target + (4 * i) * plane);
                    (r1 + r2).Store(target + (4 * i + 1) * plane);
                    (r2 - r1).Store(target + (4 * i + 2) * plane);
                    (r1 - r3).Store(target + (4 * i + 3) * plane);
                }
            }
        }
    }

    /// <summary>Outputs from M[e] (tiles x filters): Y = Aᵀ m A per tile, plus bias, optionally ReLU; only the image's outputs are written.</summary>
    public static void TransformOutput(in ConvGeometry g, int filters, float* m, float* bias, bool relu, float* output)
    {
        int tilesHigh = (g.OutHeight + 1) / 2, tilesWide = (g.OutWidth + 1) / 2;
        int plane = tilesHigh * tilesWide * filters;
        var s = stackalloc Vector256<float>[8];
        for (int ty = 0; ty < tilesHigh; ty++)
        for (int tx = 0; tx < tilesWide; tx++)
        {
            float* source = m + (ty * tilesWide + tx) * filters;
            for (int f = 0; f < filters; f += 8)
            {
                // Aᵀ m: rows
                for (int j = 0; j < 4; j++)
                {
                    var m0 = Vector256.Load(source + j * plane + f);
                    var m1 = Vector256.Load(source + (4 + j) * plane + f);
                    var m2 = Vector256.Load(source + (8 + j) * plane + f);
                    var m3 = Vector256.Load(source + (12 + j) * plane + f);
                    s[j] = m0 + m1 + m2;
                    s[4 + j] = m1 - m2 - m3;
                }
                var b = Vector256.Load(bias + f);
                for (int i = 0; i < 2; i++)
                {
                    int row = 2 * ty + i;
                    if (row >= g.OutHeight) break;
                    var y0 = s[4 * i] + s[4 * i + 1] + s[4 * i + 2] + b;
                    var y1 = s[4 * i + 1] - s[4 * i + 2] - s[4 * i + 3] + b;
                    if (relu)
                    {
                        y0 = Vector256.Max(y0, Vector256<float>.Zero);
                        y1 = Vector256.Max(y1, Vector256<float>.Zero);
                    }
                    y0.Store(output + (row * g.OutWidth + 2 * tx) * filters + f);
                    if (2 * tx + 1 < g.OutWidth) y1.Store(output + (row * g.OutWidth + 2 * tx + 1) * filters + f);
                }
            }
        }
    }
}
