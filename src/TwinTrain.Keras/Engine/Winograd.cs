using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TwinTrain.Keras.Engine;

/// <summary>
/// Winograd's F(2x2, 3x3) for a 3x3, stride-1, valid convolution over channels-last images: each 2x2 block of
/// outputs comes from a 4x4 input tile through 16 element-wise products instead of 36, done as 16 matrix
/// products (tiles x in) · (in x out). Less than half the multiplications of the direct method, at the cost of
/// cheap transforms of inputs (Bᵀ d B), kernels (G g Gᵀ) and outputs (Aᵀ m A). Channels go eight to a vector.
/// </summary>
internal static unsafe class Winograd
{
    /// <summary>Whether a convolution can take this path: 3x3 kernel, stride 1, valid padding, channels in eights, filters in sixteens.</summary>
    public static bool Applies(in ConvGeometry g, int filters) =>
        Gemm.UseSimd && g.KernelHeight == 3 && g.KernelWidth == 3 && g.IsValidStrideOne && g.Channels % 8 == 0 && filters % 16 == 0;

    public static int Tiles(in ConvGeometry g) => ((g.OutHeight + 1) / 2) * ((g.OutWidth + 1) / 2);

    /// <summary>
    /// U[e] (channels x filters) for e = 0..15, from a (3, 3, channels, filters) kernel: U = G g Gᵀ. Filters are
    /// consecutive on both sides, so they are taken eight at a time (the last ones through a copy), each lane with
    /// the steps of one.
    /// </summary>
    public static void TransformKernel(float* kernel, int channels, int filters, float* u)
    {
        int plane = channels * filters;
        var g = stackalloc Vector256<float>[9];
        var result = stackalloc Vector256<float>[16];
        for (int c = 0; c < channels; c++)
        {
            for (int f = 0; f < filters; f += 8)
            {
                int at = c * filters + f, lanes = Math.Min(8, filters - f);
                for (int k = 0; k < 9; k++) g[k] = Load(kernel + k * plane + at, lanes);
                TransformTaps(g, result);
                for (int e = 0; e < 16; e++) Store(result[e], u + e * plane + at, lanes);
            }
        }
    }

    static Vector256<float> Load(float* source, int lanes)
    {
        if (lanes == 8) return Vector256.Load(source);
        var copy = Vector256<float>.Zero;
        new ReadOnlySpan<float>(source, lanes).CopyTo(new Span<float>(&copy, 8));
        return copy;
    }

    static void Store(Vector256<float> value, float* target, int lanes)
    {
        if (lanes == 8) value.Store(target);
        else new ReadOnlySpan<float>(&value, 8)[..lanes].CopyTo(new Span<float>(target, lanes));
    }

    /// <summary>G g Gᵀ for eight kernels side by side: their 3x3 taps in, the 4x4 transformed taps out, row by row.</summary>
    static void TransformTaps(Vector256<float>* g, Vector256<float>* u)
    {
        var half = Vector256.Create(0.5f);
        var t = stackalloc Vector256<float>[12];
        for (int j = 0; j < 3; j++)
        {
            t[j] = g[j];
            t[3 + j] = half * (g[j] + g[3 + j] + g[6 + j]);
            t[6 + j] = half * (g[j] - g[3 + j] + g[6 + j]);
            t[9 + j] = g[6 + j];
        }
        for (int i = 0; i < 4; i++)
        {
            var row = t + 3 * i;
            u[4 * i] = row[0];
            u[4 * i + 1] = half * (row[0] + row[1] + row[2]);
            u[4 * i + 2] = half * (row[0] - row[1] + row[2]);
            u[4 * i + 3] = row[2];
        }
    }

    /// <summary>V[e] (tiles x channels) for e = 0..15: V = Bᵀ d B for every 4x4 input tile (zero past the image).</summary>
    public static void TransformInput(in ConvGeometry g, float* image, float* v, int group)
    {
        int tilesHigh = (g.OutHeight + 1) / 2, tilesWide = (g.OutWidth + 1) / 2, channels = g.Channels;
        int plane = group * tilesHigh * tilesWide * channels, rowStride = g.Width * channels;
        // Edge tiles read from a copy of their 4x4 window with zeros past the image; inner tiles straight from it.
        var edge = stackalloc float[16 * 8];
        for (int ty = 0; ty < tilesHigh; ty++)
        for (int tx = 0; tx < tilesWide; tx++)
        {
            bool inside = 2 * ty + 4 <= g.Height && 2 * tx + 4 <= g.Width;
            float* target = v + (ty * tilesWide + tx) * channels;
            for (int c = 0; c < channels; c += 8, target += 8)
            {
                float* d = image + ((2 * ty) * g.Width + 2 * tx) * channels + c;
                nint row = rowStride, column = channels;
                if (!inside)
                {
                    for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++)
                    {
                        bool within = 2 * ty + i < g.Height && 2 * tx + j < g.Width;
                        (within ? Vector256.Load(d + i * rowStride + j * channels) : Vector256<float>.Zero).Store(edge + (4 * i + j) * 8);
                    }
                    d = edge;
                    row = 32;
                    column = 8;
                }
                // Row i of Bᵀ d is a sum of two input rows; each row of the result is then that row times B.
                StoreRowTimesB(d, 0, 2, -1, row, column, target, plane);
                StoreRowTimesB(d, 1, 2, 1, row, column, target + 4 * plane, plane);
                StoreRowTimesB(d, 2, 1, -1, row, column, target + 8 * plane, plane);
                StoreRowTimesB(d, 1, 3, -1, row, column, target + 12 * plane, plane);
            }
        }
    }

    /// <summary>Stores (d[first] + sign·d[second]) B, the four values of one row of Bᵀ d B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRowTimesB(float* d, int first, int second, int sign, nint row, nint column, float* target, int plane)
    {
        float* a = d + first * row, b = d + second * row;
        Vector256<float> e0, e1, e2, e3;
        if (sign > 0)
        {
            e0 = Vector256.Load(a) + Vector256.Load(b);
            e1 = Vector256.Load(a + column) + Vector256.Load(b + column);
            e2 = Vector256.Load(a + 2 * column) + Vector256.Load(b + 2 * column);
            e3 = Vector256.Load(a + 3 * column) + Vector256.Load(b + 3 * column);
        }
        else
        {
            e0 = Vector256.Load(a) - Vector256.Load(b);
            e1 = Vector256.Load(a + column) - Vector256.Load(b + column);
            e2 = Vector256.Load(a + 2 * column) - Vector256.Load(b + 2 * column);
            e3 = Vector256.Load(a + 3 * column) - Vector256.Load(b + 3 * column);
        }
        (e0 - e2).Store(target);
        (e1 + e2).Store(target + plane);
        (e2 - e1).Store(target + 2 * plane);
        (e1 - e3).Store(target + 3 * plane);
    }

    /// <summary>Outputs from M[e] (tiles x filters): Y = Aᵀ m A per tile, plus bias, optionally ReLU; only the image's outputs are written.</summary>
    public static void TransformOutput(in ConvGeometry g, int filters, float* m, int group, float* bias, bool relu, float* output)
    {
        int tilesHigh = (g.OutHeight + 1) / 2, tilesWide = (g.OutWidth + 1) / 2;
        int plane = group * tilesHigh * tilesWide * filters;
        for (int ty = 0; ty < tilesHigh; ty++)
        for (int tx = 0; tx < tilesWide; tx++)
        {
            float* source = m + (ty * tilesWide + tx) * filters;
            bool secondRow = 2 * ty + 1 < g.OutHeight, secondColumn = 2 * tx + 1 < g.OutWidth;
            float* top = output + (2 * ty * g.OutWidth + 2 * tx) * filters;
            for (int f = 0; f < filters; f += 8)
            {
                float* e = source + f;
                // Aᵀ m, column j: s0j = m0j + m1j + m2j, s1j = m1j − m2j − m3j (m_ij = M[4i + j])
                var s00 = Vector256.Load(e) + Vector256.Load(e + 4 * plane) + Vector256.Load(e + 8 * plane);
                var s01 = Vector256.Load(e + plane) + Vector256.Load(e + 5 * plane) + Vector256.Load(e + 9 * plane);
                var s02 = Vector256.Load(e + 2 * plane) + Vector256.Load(e + 6 * plane) + Vector256.Load(e + 10 * plane);
                var s03 = Vector256.Load(e + 3 * plane) + Vector256.Load(e + 7 * plane) + Vector256.Load(e + 11 * plane);
                var s10 = Vector256.Load(e + 4 * plane) - Vector256.Load(e + 8 * plane) - Vector256.Load(e + 12 * plane);
                var s11 = Vector256.Load(e + 5 * plane) - Vector256.Load(e + 9 * plane) - Vector256.Load(e + 13 * plane);
                var s12 = Vector256.Load(e + 6 * plane) - Vector256.Load(e + 10 * plane) - Vector256.Load(e + 14 * plane);
                var s13 = Vector256.Load(e + 7 * plane) - Vector256.Load(e + 11 * plane) - Vector256.Load(e + 15 * plane);
                var b = Vector256.Load(bias + f);
                // (Aᵀ m) A: y_i0 = s_i0 + s_i1 + s_i2, y_i1 = s_i1 − s_i2 − s_i3
                Store(s00 + s01 + s02 + b, top + f, relu);
                if (secondColumn) Store(s01 - s02 - s03 + b, top + filters + f, relu);
                if (!secondRow) continue;
                Store(s10 + s11 + s12 + b, top + g.OutWidth * filters + f, relu);
                if (secondColumn) Store(s11 - s12 - s13 + b, top + (g.OutWidth + 1) * filters + f, relu);
            }
        }
    }

    /// <summary>
    /// The weight gradient's side of the output: dZ = A dy Aᵀ for every 2x2 tile of the output gradient dy (zero past
    /// the outputs), as 16 planes of tiles x filters. dY = Aᵀ Z A in the forward pass makes A dy Aᵀ the gradient of Z,
    /// and with Z = U ⊙ V summed over channels, dU[e] = Σ_tiles V[e]ᵀ dZ[e] (one product per e).
    /// </summary>
    public static void TransformGradient(in ConvGeometry g, int filters, float* dy, float* dz, int group)
    {
        int tilesHigh = (g.OutHeight + 1) / 2, tilesWide = (g.OutWidth + 1) / 2;
        int plane = group * tilesHigh * tilesWide * filters;
        for (int ty = 0; ty < tilesHigh; ty++)
        for (int tx = 0; tx < tilesWide; tx++)
        {
            float* target = dz + (ty * tilesWide + tx) * filters;
            bool secondRow = 2 * ty + 1 < g.OutHeight, secondColumn = 2 * tx + 1 < g.OutWidth;
            float* top = dy + (2 * ty * g.OutWidth + 2 * tx) * filters;
            for (int f = 0; f < filters; f += 8)
            {
                var y00 = Vector256.Load(top + f);
                var y01 = secondColumn ? Vector256.Load(top + filters + f) : Vector256<float>.Zero;
                var y10 = secondRow ? Vector256.Load(top + g.OutWidth * filters + f) : Vector256<float>.Zero;
                var y11 = secondRow && secondColumn ? Vector256.Load(top + (g.OutWidth + 1) * filters + f) : Vector256<float>.Zero;
                // A dy: rows y0, y0 + y1, y0 − y1, −y1; each row (r0, r1) times Aᵀ: r0, r0 + r1, r0 − r1, −r1
                StoreRowTimesATransposed(y00, y01, target + f, plane);
                StoreRowTimesATransposed(y00 + y10, y01 + y11, target + 4 * plane + f, plane);
                StoreRowTimesATransposed(y00 - y10, y01 - y11, target + 8 * plane + f, plane);
                StoreRowTimesATransposed(-y10, -y11, target + 12 * plane + f, plane);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRowTimesATransposed(Vector256<float> r0, Vector256<float> r1, float* target, int plane)
    {
        r0.Store(target);
        (r0 + r1).Store(target + plane);
        (r0 - r1).Store(target + 2 * plane);
        (-r1).Store(target + 3 * plane);
    }

    /// <summary>
    /// Adds the kernel gradient Gᵀ dU G (3x3 per channel and filter) from dU's 16 planes (channels x filters) into
    /// <paramref name="kernelGradient"/>, laid out as the kernel (3, 3, channels, filters).
    /// </summary>
    public static void AddKernelGradient(float* du, int channels, int filters, float* kernelGradient)
    {
        int plane = channels * filters;
        var half = Vector256.Create(0.5f);
        var t = stackalloc Vector256<float>[12];
        for (int at = 0; at < plane; at += 8)
        {
            // Gᵀ dU, rows: dU0 + (dU1 + dU2)/2, (dU1 − dU2)/2, (dU1 + dU2)/2 + dU3 (dU_i the 4 values of row i)
            for (int j = 0; j < 4; j++)
            {
                var u0 = Vector256.Load(du + j * plane + at);
                var u1 = Vector256.Load(du + (4 + j) * plane + at);
                var u2 = Vector256.Load(du + (8 + j) * plane + at);
                var u3 = Vector256.Load(du + (12 + j) * plane + at);
                t[j] = u0 + half * (u1 + u2);
                t[4 + j] = half * (u1 - u2);
                t[8 + j] = half * (u1 + u2) + u3;
            }
            // each row (r0..r3) times G: r0 + (r1 + r2)/2, (r1 − r2)/2, (r1 + r2)/2 + r3
            for (int i = 0; i < 3; i++)
            {
                var r = t + 4 * i;
                Add(kernelGradient + (3 * i) * plane + at, r[0] + half * (r[1] + r[2]));
                Add(kernelGradient + (3 * i + 1) * plane + at, half * (r[1] - r[2]));
                Add(kernelGradient + (3 * i + 2) * plane + at, half * (r[1] + r[2]) + r[3]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Add(float* target, Vector256<float> value) => (Vector256.Load(target) + value).Store(target);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(Vector256<float> y, float* target, bool relu) => (relu ? Vector256.Max(y, Vector256<float>.Zero) : y).Store(target);
}
