using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TwinTrain.Keras.Engine;

/// <summary>
/// Winograd's F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 4x4
/// block of outputs from a 6x6 input tile with 36 multiplications per channel and filter instead of 144, against
/// F(2x2, 3x3)'s 16 for 4 outputs (<see cref="Winograd"/>). Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A with
/// Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
/// G = [1/4 0 0; −1/6 −1/6 −1/6; −1/6 1/6 −1/6; 1/24 1/12 1/6; 1/24 −1/12 1/6; 0 0 1],
/// Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]. The same layouts as F(2x2, 3x3): plane e of
/// 36 holds tiles x channels (V), channels x filters (U), tiles x filters (M). Channels and filters in eights, eight at a
/// time in registers; the 2-D transforms are the 1-D ones down the columns, then along the rows.
/// </summary>
internal static unsafe class Winograd4
{
    public const int Elements = 36;

    public static int Tiles(in ConvGeometry g) => TilesHigh(g) * TilesWide(g);

    static int TilesHigh(in ConvGeometry g) => (g.OutHeight + 3) / 4;
    static int TilesWide(in ConvGeometry g) => (g.OutWidth + 3) / 4;

    /// <summary>Tile (ty, tx)'s outputs that lie in the image (4 x 4 but at the last row and column) and the offset of its first.</summary>
    static (int Rows, int Columns, long Corner) OutputTile(in ConvGeometry g, int ty, int tx, int filters) =>
        (Math.Min(4, g.OutHeight - 4 * ty), Math.Min(4, g.OutWidth - 4 * tx), (4L * ty * g.OutWidth + 4 * tx) * filters);

    static readonly Vector256<float> Two = Vector256.Create(2f), Four = Vector256.Create(4f), Five = Vector256.Create(5f), Eight = Vector256.Create(8f);
    static readonly Vector256<float> Quarter = Vector256.Create(0.25f), Sixth = Vector256.Create(1f / 6), Twelfth = Vector256.Create(1f / 12),
        TwentyFourth = Vector256.Create(1f / 24);

    /// <summary>Bᵀ x for a column of six values (stride <paramref name="s"/>), into six (stride <paramref name="ts"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void InputColumn(Vector256<float>* x, int s, Vector256<float>* t, int ts)
    {
        Vector256<float> x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s], x4 = x[4 * s], x5 = x[5 * s];
        var wide = x4 - Four * x2;       // rows 1 and 2: (x4 − 4x2) ± (x3 − 4x1)
        var wideOdd = x3 - Four * x1;
        var narrow = x4 - x2;            // rows 3 and 4: (x4 − x2) ± 2(x3 − x1)
        var narrowOdd = Two * (x3 - x1);
        t[0] = Four * x0 - Five * x2 + x4;
        t[ts] = wide + wideOdd;
        t[2 * ts] = wide - wideOdd;
        t[3 * ts] = narrow + narrowOdd;
        t[4 * ts] = narrow - narrowOdd;
        t[5 * ts] = Four * x1 - Five * x3 + x5;
    }

    /// <summary>U[e] (channels x filters) for e = 0..35 from a (3, 3, channels, filters) kernel: U = G g Gᵀ.</summary>
    public static void TransformKernel(float* kernel, int channels, int filters, float* u)
    {
        int plane = channels * filters;
        var g = stackalloc Vector256<float>[9];
        var t = stackalloc Vector256<float>[18];
        var r = stackalloc Vector256<float>[36];
        for (int at = 0; at < plane; at += 8)
        {
            for (int k = 0; k < 9; k++) g[k] = Vector256.Load(kernel + k * plane + at);
            for (int j = 0; j < 3; j++) KernelColumn(g + j, 3, t + j, 3);
            for (int i = 0; i < 6; i++) KernelColumn(t + 3 * i, 1, r + 6 * i, 1);
            for (int e = 0; e < Elements; e++) r[e].Store(u + e * plane + at);
        }
    }

    /// <summary>G x for three values, into six.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void KernelColumn(Vector256<float>* x, int s, Vector256<float>* t, int ts)
    {
        Vector256<float> x0 = x[0], x1 = x[s], x2 = x[2 * s];
        t[0] = Quarter * x0;
        t[ts] = -Sixth * (x0 + x1 + x2);
        t[2 * ts] = -Sixth * (x0 - x1 + x2);
        t[3 * ts] = TwentyFourth * x0 + Twelfth * x1 + Sixth * x2;
        t[4 * ts] = TwentyFourth * x0 - Twelfth * x1 + Sixth * x2;
        t[5 * ts] = x2;
    }

    /// <summary>V[e] (tiles x channels) for e = 0..35: Bᵀ d B for every 6x6 input tile (stride 4; zero past the image).</summary>
    public static void TransformInput(in ConvGeometry g, float* image, float* v, int group)
    {
        int tilesHigh = TilesHigh(g), tilesWide = TilesWide(g), channels = g.Channels;
        int plane = group * tilesHigh * tilesWide * channels, rowStride = g.Width * channels;
        // Vectors of eight channels: the columns' pass reads an inner tile straight from the image (an edge tile from a
        // copy with zeros past the image), the rows' pass writes straight into the planes.
        int row = rowStride / 8, column = channels / 8, planeVectors = plane / 8;
        var edge = stackalloc Vector256<float>[36];
        var t = stackalloc Vector256<float>[36];
        for (int ty = 0; ty < tilesHigh; ty++)
        for (int tx = 0; tx < tilesWide; tx++)
        {
            bool inside = 4 * ty + 6 <= g.Height && 4 * tx + 6 <= g.Width;
            float* target = v + (ty * tilesWide + tx) * channels;
            for (int c = 0; c < channels; c += 8)
            {
                var d = (Vector256<float>*)(image + ((4 * ty) * g.Width + 4 * tx) * channels + c);
                int down = row, across = column;
                if (!inside)
                {
                    for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++)
                        edge[6 * i + j] = 4 * ty + i < g.Height && 4 * tx + j < g.Width ? d[i * row + j * column] : Vector256<float>.Zero;
                    d = edge;
                    down = 6;
                    across = 1;
                }
                for (int j = 0; j < 6; j++) InputColumn(d + j * across, down, t + j, 6);
                var planes = (Vector256<float>*)(target + c);
                for (int i = 0; i < 6; i++) InputColumn(t + 6 * i, 1, planes + 6 * i * planeVectors, planeVectors);
            }
        }
    }

    /// <summary>Aᵀ x for six values, into four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void OutputColumn(Vector256<float>* x, int s, Vector256<float>* t, int ts)
    {
        Vector256<float> x1 = x[s], x2 = x[2 * s], x3 = x[3 * s], x4 = x[4 * s];
        var sum12 = x1 + x2;
        var difference12 = x1 - x2;
        var sum34 = x3 + x4;
        var difference34 = x3 - x4;
        t[0] = x[0] + sum12 + sum34;
        t[ts] = difference12 + Two * difference34;
        t[2 * ts] = sum12 + Four * sum34;
        t[3 * ts] = difference12 + Eight * difference34 + x[5 * s];
    }

    /// <summary>Outputs from M[e] (tiles x filters): Y = Aᵀ m A per tile, plus bias, optionally ReLU; only the image's outputs are written.</summary>
    public static void TransformOutput(in ConvGeometry g, int filters, float* m, int group, float* bias, bool relu, float* output)
    {
        int tilesHigh = TilesHigh(g), tilesWide = TilesWide(g);
        int plane = group * tilesHigh * tilesWide * filters;
        var x = stackalloc Vector256<float>[36];
        var t = stackalloc Vector256<float>[24];
        var y = stackalloc Vector256<float>[16];
        for (int ty = 0; ty < tilesHigh; ty++)
        for (int tx = 0; tx < tilesWide; tx++)
        {
            float* source = m + (ty * tilesWide + tx) * filters;
            var (rows, columns, at) = OutputTile(g, ty, tx, filters);
            float* corner = output + at;
            for (int f = 0; f < filters; f += 8)
            {
                for (int e = 0; e < Elements; e++) x[e] = Vector256.Load(source + e * plane + f);
                for (int j = 0; j < 6; j++) OutputColumn(x + j, 6, t + j, 6);
                for (int i = 0; i < 4; i++) OutputColumn(t + 6 * i, 1, y + 4 * i, 1);
                var b = Vector256.Load(bias + f);
                for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                {
                    var value = y[4 * i + j] + b;
                    (relu ? Vector256.Max(value, Vector256<float>.Zero) : value).Store(corner + (i * g.OutWidth + j) * filters + f);
                }
            }
        }
    }

    /// <summary>A x for four values, into six: the transpose of <see cref="OutputColumn"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void GradientColumn(Vector256<float>* x, int s, Vector256<float>* t, int ts)
    {
        Vector256<float> x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s];
        var even = x0 + x2;
        var odd = x1 + x3;
        t[0] = x0;
        t[ts] = even + odd;
        t[2 * ts] = even - odd;
        var evenWide = x0 + Four * x2;
        var oddWide = Two * x1 + Eight * x3;
        t[3 * ts] = evenWide + oddWide;
        t[4 * ts] = evenWide - oddWide;
        t[5 * ts] = x3;
    }

    /// <summary>dZ = A dy Aᵀ for every 4x4 tile of the output gradient (zero past the outputs), 36 planes of tiles x filters.</summary>
    public static void TransformGradient(in ConvGeometry g, int filters, float* dy, float* dz, int group)
    {
        int tilesHigh = TilesHigh(g), tilesWide = TilesWide(g);
        int plane = group * tilesHigh * tilesWide * filters;
        // The rows' pass writes straight into the planes (vectors of eight filters).
        int planeVectors = plane / 8;
        var x = stackalloc Vector256<float>[16];
        var t = stackalloc Vector256<float>[24];
        for (int ty = 0; ty < tilesHigh; ty++)
        for (int tx = 0; tx < tilesWide; tx++)
        {
            float* target = dz + (ty * tilesWide + tx) * filters;
            var (rows, columns, at) = OutputTile(g, ty, tx, filters);
            float* corner = dy + at;
            for (int f = 0; f < filters; f += 8)
            {
                for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    x[4 * i + j] = i < rows && j < columns ? Vector256.Load(corner + (i * g.OutWidth + j) * filters + f) : Vector256<float>.Zero;
                for (int j = 0; j < 4; j++) GradientColumn(x + j, 4, t + j, 4);
                var planes = (Vector256<float>*)(target + f);
                for (int i = 0; i < 6; i++) GradientColumn(t + 4 * i, 1, planes + 6 * i * planeVectors, planeVectors);
            }
        }
    }

    /// <summary>Gᵀ x for six values, into three: the transpose of <see cref="KernelColumn"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void KernelGradientColumn(Vector256<float>* x, int s, Vector256<float>* t, int ts)
    {
        Vector256<float> x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s], x4 = x[4 * s], x5 = x[5 * s];
        t[0] = Quarter * x0 - Sixth * (x1 + x2) + TwentyFourth * (x3 + x4);
        t[ts] = Sixth * (x2 - x1) + Twelfth * (x3 - x4);
        t[2 * ts] = Sixth * (x3 + x4 - x1 - x2) + x5;
    }

    /// <summary>Adds Gᵀ dU G (3x3 per channel and filter) from dU's 36 planes (channels x filters) into a (3, 3, channels, filters) gradient.</summary>
    public static void AddKernelGradient(float* du, int channels, int filters, float* kernelGradient)
    {
        int plane = channels * filters;
        var x = stackalloc Vector256<float>[36];
        var t = stackalloc Vector256<float>[18];
        var r = stackalloc Vector256<float>[9];
        for (int at = 0; at < plane; at += 8)
        {
            for (int e = 0; e < Elements; e++) x[e] = Vector256.Load(du + e * plane + at);
            for (int j = 0; j < 6; j++) KernelGradientColumn(x + j, 6, t + j, 6);
            for (int i = 0; i < 3; i++) KernelGradientColumn(t + 6 * i, 1, r + 3 * i, 1);
            for (int k = 0; k < 9; k++) (Vector256.Load(kernelGradient + k * plane + at) + r[k]).Store(kernelGradient + k * plane + at);
        }
    }
}
