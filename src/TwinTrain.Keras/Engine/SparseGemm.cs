using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TwinTrain.Keras.Engine;

/// <summary>
/// C = A·B for an A that is mostly zeros, skipping them. Gradients flowing back through max pooling and ReLU are such
/// a matrix: each pooling window passes its gradient to one element of four, so three quarters or more are zero.
/// The core is <see cref="AccumulateRow"/>: one row of C built in registers, 96 columns at a time, from a list of
/// (row of B, factor) pairs.
/// </summary>
internal static unsafe class SparseGemm
{
    /// <summary>Columns of C built per pass in registers; narrower products gain little from skipping zeros.</summary>
    public const int RowBlock = 96;

    /// <summary>Fraction of non-zeros above which the dense product is faster.</summary>
    public const double DensityLimit = 0.35;

    /// <summary>The share of non-zero values in an m x k matrix.</summary>
    public static double Density(float* a, int m, int k, nint lda) => (double)NonZeros(a, m, k, lda) / ((long)m * k);

    /// <summary>How many of the m x k elements of A (row stride lda) are not zero.</summary>
    public static long NonZeros(float* a, int m, int k, nint lda)
    {
        long nonZero = 0;
        for (int i = 0; i < m; i++)
        {
            float* row = a + i * lda;
            int p = 0;
            if (Gemm.UseSimd)
            {
                for (; p + 8 <= k; p += 8)
                    nonZero += 8 - BitOperations.PopCount(Vector256.Equals(Vector256.Load(row + p), Vector256<float>.Zero).ExtractMostSignificantBits());
            }
            for (; p < k; p++) if (row[p] != 0f) nonZero++;
        }
        return nonZero;
    }

    /// <summary>C (+)= A·B, A (m x k) mostly zeros, each row of C accumulated in registers.</summary>
    public static void Multiply(int m, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool accumulate = false)
    {
        int* offsets = stackalloc int[k];
        float* factors = stackalloc float[k];
        bool simd = Gemm.UseSimd;
        for (int i = 0; i < m; i++)
        {
            float* row = a + i * lda;
            int count = 0;
            for (int p = 0; p < k; p++)
            {
                if (row[p] == 0f) continue;
                offsets[count] = (int)(p * ldb);
                factors[count++] = row[p];
            }
            AccumulateRow(count, offsets, factors, b, c + i * ldc, n, accumulate, simd);
        }
    }

    /// <summary>
    /// target[0..n) (+)= Σ_q factors[q] · b[offsets[q] + 0..n): a sparse row times a matrix, or any sum of scaled
    /// rows picked from memory (the sparse convolution gradients use rows of an image). The summation order is q's.
    /// <paramref name="simd"/> is <see cref="Gemm.UseSimd"/>, read once by the caller.
    /// </summary>
    public static void AccumulateRow(int count, int* offsets, float* factors, float* b, float* target, int n, bool accumulate, bool simd)
    {
        int j = 0;
        if (simd)
        {
            for (; j + RowBlock <= n; j += RowBlock) Row96(count, offsets, factors, b + j, target + j, accumulate);
            for (; j < n; j += NarrowBlock) RowNarrow(count, offsets, factors, b + j, target + j, Math.Min(NarrowBlock, n - j), accumulate);
            return;
        }
        for (; j < n; j++)
        {
            float sum = accumulate ? target[j] : 0f;
            for (int q = 0; q < count; q++) sum = MathF.FusedMultiplyAdd(factors[q], b[offsets[q] + j], sum);
            target[j] = sum;
        }
    }

    const int NarrowBlock = 32;
    static readonly Vector256<int> Lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);

    /// <summary>
    /// <see cref="AccumulateRow"/> for 1 to 32 columns, one pass over the list: up to four accumulators, the last one
    /// masked, so nothing past column <paramref name="width"/> is read or written (an im2col row is 28 or 10 floats).
    /// The branches on the vector count do not change within the loop; the loop waits on its additions anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RowNarrow(int count, int* offsets, float* factors, float* b, float* target, int width, bool accumulate)
    {
        int vectors = (width + 7) >> 3;
        var last = Vector256.LessThan(Lanes, Vector256.Create(width - 8 * (vectors - 1))).AsSingle();
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        if (accumulate)
        {
            c0 = vectors == 1 ? Avx.MaskLoad(target, last) : Avx.LoadVector256(target);
            if (vectors >= 2) c1 = vectors == 2 ? Avx.MaskLoad(target + 8, last) : Avx.LoadVector256(target + 8);
            if (vectors >= 3) c2 = vectors == 3 ? Avx.MaskLoad(target + 16, last) : Avx.LoadVector256(target + 16);
            if (vectors == 4) c3 = Avx.MaskLoad(target + 24, last);
        }
        for (int q = 0; q < count; q++)
        {
            var s = Vector256.Create(factors[q]);
            float* r = b + offsets[q];
            if (vectors == 1) { c0 = Fma.MultiplyAdd(s, Avx.MaskLoad(r, last), c0); continue; }
            c0 = Fma.MultiplyAdd(s, Avx.LoadVector256(r), c0);
            if (vectors == 2) { c1 = Fma.MultiplyAdd(s, Avx.MaskLoad(r + 8, last), c1); continue; }
            c1 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 8), c1);
            if (vectors == 3) { c2 = Fma.MultiplyAdd(s, Avx.MaskLoad(r + 16, last), c2); continue; }
            c2 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 16), c2);
            c3 = Fma.MultiplyAdd(s, Avx.MaskLoad(r + 24, last), c3);
        }
        if (vectors == 1) { Avx.MaskStore(target, last, c0); return; }
        Avx.Store(target, c0);
        if (vectors == 2) { Avx.MaskStore(target + 8, last, c1); return; }
        Avx.Store(target + 8, c1);
        if (vectors == 3) { Avx.MaskStore(target + 16, last, c2); return; }
        Avx.Store(target + 16, c2);
        Avx.MaskStore(target + 24, last, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Row96(int count, int* offsets, float* factors, float* b, float* target, bool accumulate)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector256<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        if (accumulate)
        {
            c0 = Avx.LoadVector256(target); c1 = Avx.LoadVector256(target + 8); c2 = Avx.LoadVector256(target + 16);
            c3 = Avx.LoadVector256(target + 24); c4 = Avx.LoadVector256(target + 32); c5 = Avx.LoadVector256(target + 40);
            c6 = Avx.LoadVector256(target + 48); c7 = Avx.LoadVector256(target + 56); c8 = Avx.LoadVector256(target + 64);
            c9 = Avx.LoadVector256(target + 72); c10 = Avx.LoadVector256(target + 80); c11 = Avx.LoadVector256(target + 88);
        }
        for (int q = 0; q < count; q++)
        {
            var s = Vector256.Create(factors[q]);
            float* r = b + offsets[q];
            c0 = Fma.MultiplyAdd(s, Avx.LoadVector256(r), c0);
            c1 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 8), c1);
            c2 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 16), c2);
            c3 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 24), c3);
            c4 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 32), c4);
            c5 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 40), c5);
            c6 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 48), c6);
            c7 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 56), c7);
            c8 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 64), c8);
            c9 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 72), c9);
            c10 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 80), c10);
            c11 = Fma.MultiplyAdd(s, Avx.LoadVector256(r + 88), c11);
        }
        Avx.Store(target, c0); Avx.Store(target + 8, c1); Avx.Store(target + 16, c2); Avx.Store(target + 24, c3);
        Avx.Store(target + 32, c4); Avx.Store(target + 40, c5); Avx.Store(target + 48, c6); Avx.Store(target + 56, c7);
        Avx.Store(target + 64, c8); Avx.Store(target + 72, c9); Avx.Store(target + 80, c10); Avx.Store(target + 88, c11);
    }
}
