using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TwinTrain.Keras.Engine;

internal static unsafe class Transpose
{
    /// <summary>Writes the (columns x rows) transpose of a row-major (rows x columns) matrix.</summary>
    public static void Matrix(ReadOnlySpan<float> source, int rows, int columns, Span<float> target)
    {
        if (source.Length < rows * columns || target.Length < rows * columns)
            throw new ArgumentException("The spans are smaller than the matrix.");
        bool simd = Gemm.UseSimd;
        fixed (float* s = source, t = target)
        {
            // In 8 x 8 blocks, so both sides are read and written a cache line at a time.
            for (int r0 = 0; r0 < rows; r0 += 8)
            {
                int r1 = Math.Min(r0 + 8, rows);
                for (int c0 = 0; c0 < columns; c0 += 8)
                {
                    int c1 = Math.Min(c0 + 8, columns);
                    if (simd && r1 - r0 == 8 && c1 - c0 == 8)
                    {
                        Block8x8(s + r0 * columns + c0, columns, t + c0 * rows + r0, rows);
                        continue;
                    }
                    for (int r = r0; r < r1; r++)
                        for (int c = c0; c < c1; c++)
                            t[c * rows + r] = s[r * columns + c];
                }
            }
        }
    }

    /// <summary>Transposes one 8 x 8 block in registers: pairs of rows interleaved, then pairs of pairs, then halves.</summary>
    static void Block8x8(float* s, int ls, float* t, int lt)
    {
        var a0 = Avx.UnpackLow(Avx.LoadVector256(s), Avx.LoadVector256(s + ls));
        var a1 = Avx.UnpackHigh(Avx.LoadVector256(s), Avx.LoadVector256(s + ls));
        var a2 = Avx.UnpackLow(Avx.LoadVector256(s + 2 * ls), Avx.LoadVector256(s + 3 * ls));
        var a3 = Avx.UnpackHigh(Avx.LoadVector256(s + 2 * ls), Avx.LoadVector256(s + 3 * ls));
        var a4 = Avx.UnpackLow(Avx.LoadVector256(s + 4 * ls), Avx.LoadVector256(s + 5 * ls));
        var a5 = Avx.UnpackHigh(Avx.LoadVector256(s + 4 * ls), Avx.LoadVector256(s + 5 * ls));
        var a6 = Avx.UnpackLow(Avx.LoadVector256(s + 6 * ls), Avx.LoadVector256(s + 7 * ls));
        var a7 = Avx.UnpackHigh(Avx.LoadVector256(s + 6 * ls), Avx.LoadVector256(s + 7 * ls));
        var b0 = Avx.Shuffle(a0, a2, 0x44);
        var b1 = Avx.Shuffle(a0, a2, 0xEE);
        var b2 = Avx.Shuffle(a1, a3, 0x44);
        var b3 = Avx.Shuffle(a1, a3, 0xEE);
        var b4 = Avx.Shuffle(a4, a6, 0x44);
        var b5 = Avx.Shuffle(a4, a6, 0xEE);
        var b6 = Avx.Shuffle(a5, a7, 0x44);
        var b7 = Avx.Shuffle(a5, a7, 0xEE);
        Avx.Store(t, Avx.Permute2x128(b0, b4, 0x20));
        Avx.Store(t + lt, Avx.Permute2x128(b1, b5, 0x20));
        Avx.Store(t + 2 * lt, Avx.Permute2x128(b2, b6, 0x20));
        Avx.Store(t + 3 * lt, Avx.Permute2x128(b3, b7, 0x20));
        Avx.Store(t + 4 * lt, Avx.Permute2x128(b0, b4, 0x31));
        Avx.Store(t + 5 * lt, Avx.Permute2x128(b1, b5, 0x31));
        Avx.Store(t + 6 * lt, Avx.Permute2x128(b2, b6, 0x31));
        Avx.Store(t + 7 * lt, Avx.Permute2x128(b3, b7, 0x31));
    }
}
