using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TwinTrain.Keras.Engine;

/// <summary>
/// Single-precision matrix product C (+)= A·B, the engine's one workhorse.
/// A is addressed by two strides, A(i, p) = a[i * aRow + p * aCol], so the same kernel serves A and Aᵀ
/// (convolution and dense forward passes use A, weight gradients use Aᵀ). B and C are row-major.
/// With AVX2 + FMA a register-blocked 6x16 micro-kernel (12 accumulators) does the bulk; a scalar path handles
/// edges and CPUs without those instructions. The summation order is fixed, so results are reproducible.
/// </summary>
internal static unsafe class Gemm
{
    static readonly bool Hardware = Avx.IsSupported && Fma.IsSupported;
    [ThreadStatic] static bool t_forceScalar;

    /// <summary>Whether the SIMD kernels run on this thread: where the CPU has AVX + FMA, unless forced off.</summary>
    public static bool UseSimd => Hardware && !t_forceScalar;

    /// <summary>Runs the scalar fallback on this thread until disposed, as on a CPU without AVX2/FMA (for tests).</summary>
    public static IDisposable ForceScalar()
    {
        bool previous = t_forceScalar;
        t_forceScalar = true;
        return new Restore(() => t_forceScalar = previous);
    }

    sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    /// <summary>C (+)= A·B; with <paramref name="relu"/> each result is clamped at zero as it is stored.</summary>
    public static void Multiply(int m, int n, int k, float* a, nint aRow, nint aCol, float* b, nint ldb,
        float* c, nint ldc, bool accumulate, bool relu = false)
    {
        int j = 0;
        if (UseSimd)
        {
            for (; j + 16 <= n; j += 16)
            {
                int i = 0;
                for (; i + 6 <= m; i += 6)
                    Kernel6x16(k, a + i * aRow, aRow, aCol, b + j, ldb, c + i * ldc + j, ldc, accumulate, relu, rows: 6);
                // Two to five rows left: one more 6-row pass (a single row is latency-bound, so each extra row costs more).
                if (m - i >= 2)
                    Kernel6x16(k, a + i * aRow, aRow, aCol, b + j, ldb, c + i * ldc + j, ldc, accumulate, relu, rows: m - i);
                else if (i < m)
                    Kernel1x16(k, a + i * aRow, aCol, b + j, ldb, c + i * ldc + j, accumulate, relu);
            }
        }
        if (j < n) Scalar(m, j, n, k, a, aRow, aCol, b, ldb, c, ldc, accumulate, relu);
    }

    /// <summary>
    /// C = bias + Σ_s A_s·B_s (optionally clamped at zero), where A_s(i, p) = a[i * aRow + s * aSegment + p] for
    /// p in [0, k) and B_s is rows [s*k, (s+1)*k) of B. A valid, stride-1 convolution's output row is this with
    /// one segment per kernel row, read straight from the image (no im2col copy). Columns n must be a multiple of 16.
    /// </summary>
    public static void MultiplySegments(int m, int n, int k, int segments, float* a, nint aRow, nint aSegment,
        float* b, nint ldb, float* bias, float* c, nint ldc, bool relu)
    {
        if (!UseSimd || n % 16 != 0)
        {
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = bias[j];
                for (int s = 0; s < segments; s++)
                {
                    float* ap = a + i * aRow + s * aSegment;
                    float* bp = b + (s * k) * ldb + j;
                    for (int p = 0; p < k; p++) sum = MathF.FusedMultiplyAdd(ap[p], bp[p * ldb], sum);
                }
                c[i * ldc + j] = relu ? MathF.Max(sum, 0f) : sum;
            }
            return;
        }
        for (int j = 0; j < n; j += 16)
        {
            int i = 0;
            for (; i + 6 <= m; i += 6) Segments6x16(k, segments, a + i * aRow, aRow, aSegment, b + j, ldb, bias + j, c + i * ldc + j, ldc, relu);
            for (; i < m; i++)
            {
                var c0 = Avx.LoadVector256(bias + j);
                var c1 = Avx.LoadVector256(bias + j + 8);
                for (int s = 0; s < segments; s++)
                {
                    float* ap = a + i * aRow + s * aSegment;
                    float* bp = b + (s * k) * ldb + j;
                    for (int p = 0; p < k; p++)
                    {
                        var x = Vector256.Create(ap[p]);
                        c0 = Fma.MultiplyAdd(x, Avx.LoadVector256(bp + p * ldb), c0);
                        c1 = Fma.MultiplyAdd(x, Avx.LoadVector256(bp + p * ldb + 8), c1);
                    }
                }
                if (relu) { c0 = Avx.Max(c0, Vector256<float>.Zero); c1 = Avx.Max(c1, Vector256<float>.Zero); }
                Avx.Store(c + i * ldc + j, c0);
                Avx.Store(c + i * ldc + j + 8, c1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Segments6x16(int k, int segments, float* a, nint aRow, nint aSegment, float* b, nint ldb, float* bias,
        float* c, nint ldc, bool relu)
    {
        var bias0 = Avx.LoadVector256(bias);
        var bias1 = Avx.LoadVector256(bias + 8);
        Vector256<float> c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1;
        Vector256<float> c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1;
        for (int s = 0; s < segments; s++)
        {
            float* a0 = a + s * aSegment, a1 = a0 + aRow, a2 = a0 + 2 * aRow, a3 = a0 + 3 * aRow, a4 = a0 + 4 * aRow, a5 = a0 + 5 * aRow;
            float* bp = b + (s * k) * ldb;
            for (int p = 0; p < k; p++)
            {
                var b0 = Avx.LoadVector256(bp);
                var b1 = Avx.LoadVector256(bp + 8);
                bp += ldb;
                var x = Vector256.Create(a0[p]);
                c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
                x = Vector256.Create(a1[p]);
                c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
                x = Vector256.Create(a2[p]);
                c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
                x = Vector256.Create(a3[p]);
                c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
                x = Vector256.Create(a4[p]);
                c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
                x = Vector256.Create(a5[p]);
                c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            }
        }
        if (relu)
        {
            var zero = Vector256<float>.Zero;
            c00 = Avx.Max(c00, zero); c01 = Avx.Max(c01, zero); c10 = Avx.Max(c10, zero); c11 = Avx.Max(c11, zero);
            c20 = Avx.Max(c20, zero); c21 = Avx.Max(c21, zero); c30 = Avx.Max(c30, zero); c31 = Avx.Max(c31, zero);
            c40 = Avx.Max(c40, zero); c41 = Avx.Max(c41, zero); c50 = Avx.Max(c50, zero); c51 = Avx.Max(c51, zero);
        }
        Avx.Store(c, c00); Avx.Store(c + 8, c01);
        Avx.Store(c + ldc, c10); Avx.Store(c + ldc + 8, c11);
        Avx.Store(c + 2 * ldc, c20); Avx.Store(c + 2 * ldc + 8, c21);
        Avx.Store(c + 3 * ldc, c30); Avx.Store(c + 3 * ldc + 8, c31);
        Avx.Store(c + 4 * ldc, c40); Avx.Store(c + 4 * ldc + 8, c41);
        Avx.Store(c + 5 * ldc, c50); Avx.Store(c + 5 * ldc + 8, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    /// <summary>
    /// A 6 x 16 block of C in twelve registers. With fewer <paramref name="rows"/> the missing rows repeat the last
    /// one (same work, nothing out of bounds) and are not stored.
    /// </summary>
    static void Kernel6x16(int k, float* a, nint aRow, nint aCol, float* b, nint ldb, float* c, nint ldc, bool accumulate, bool relu, int rows)
    {
        nint r1 = Math.Min(1, rows - 1), r2 = Math.Min(2, rows - 1), r3 = Math.Min(3, rows - 1), r4 = Math.Min(4, rows - 1), r5 = Math.Min(5, rows - 1);
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Avx.LoadVector256(c); c01 = Avx.LoadVector256(c + 8);
            c10 = Avx.LoadVector256(c + r1 * ldc); c11 = Avx.LoadVector256(c + r1 * ldc + 8);
            c20 = Avx.LoadVector256(c + r2 * ldc); c21 = Avx.LoadVector256(c + r2 * ldc + 8);
            c30 = Avx.LoadVector256(c + r3 * ldc); c31 = Avx.LoadVector256(c + r3 * ldc + 8);
            c40 = Avx.LoadVector256(c + r4 * ldc); c41 = Avx.LoadVector256(c + r4 * ldc + 8);
            c50 = Avx.LoadVector256(c + r5 * ldc); c51 = Avx.LoadVector256(c + r5 * ldc + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        }

        // One pointer walks A, the rows at fixed offsets from it: six pointers stepped apart cost six additions an
        // iteration, which held this loop to about 55 of the 80 GFLOP/s one core reaches with one (measured in L1).
        nint o1 = r1 * aRow, o2 = r2 * aRow, o3 = r3 * aRow, o4 = r4 * aRow, o5 = r5 * aRow;
        for (int p = 0; p < k; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            b += ldb;
            var x = Vector256.Create(*a);
            c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[o1]);
            c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[o2]);
            c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[o3]);
            c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[o4]);
            c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[o5]);
            c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            a += aCol;
        }

        if (relu)
        {
            var zero = Vector256<float>.Zero;
            c00 = Avx.Max(c00, zero); c01 = Avx.Max(c01, zero); c10 = Avx.Max(c10, zero); c11 = Avx.Max(c11, zero);
            c20 = Avx.Max(c20, zero); c21 = Avx.Max(c21, zero); c30 = Avx.Max(c30, zero); c31 = Avx.Max(c31, zero);
            c40 = Avx.Max(c40, zero); c41 = Avx.Max(c41, zero); c50 = Avx.Max(c50, zero); c51 = Avx.Max(c51, zero);
        }
        Avx.Store(c, c00); Avx.Store(c + 8, c01);
        Avx.Store(c + ldc, c10); Avx.Store(c + ldc + 8, c11);
        if (rows <= 2) return;
        Avx.Store(c + 2 * ldc, c20); Avx.Store(c + 2 * ldc + 8, c21);
        if (rows == 3) return;
        Avx.Store(c + 3 * ldc, c30); Avx.Store(c + 3 * ldc + 8, c31);
        if (rows == 4) return;
        Avx.Store(c + 4 * ldc, c40); Avx.Store(c + 4 * ldc + 8, c41);
        if (rows == 5) return;
        Avx.Store(c + 5 * ldc, c50); Avx.Store(c + 5 * ldc + 8, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel1x16(int k, float* a, nint aCol, float* b, nint ldb, float* c, bool accumulate, bool relu)
    {
        var c0 = accumulate ? Avx.LoadVector256(c) : Vector256<float>.Zero;
        var c1 = accumulate ? Avx.LoadVector256(c + 8) : Vector256<float>.Zero;
        for (int p = 0; p < k; p++)
        {
            var x = Vector256.Create(*a);
            c0 = Fma.MultiplyAdd(x, Avx.LoadVector256(b), c0);
            c1 = Fma.MultiplyAdd(x, Avx.LoadVector256(b + 8), c1);
            a += aCol;
            b += ldb;
        }
        if (relu)
        {
            c0 = Avx.Max(c0, Vector256<float>.Zero);
            c1 = Avx.Max(c1, Vector256<float>.Zero);
        }
        Avx.Store(c, c0);
        Avx.Store(c + 8, c1);
    }

    /// <summary>Columns [j0, n) of C, one element at a time (summing over p in the same order as the kernels).</summary>
    static void Scalar(int m, int j0, int n, int k, float* a, nint aRow, nint aCol, float* b, nint ldb,
        float* c, nint ldc, bool accumulate, bool relu)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = j0; j < n; j++)
            {
                float sum = accumulate ? c[i * ldc + j] : 0f;
                float* ap = a + i * aRow;
                float* bp = b + j;
                for (int p = 0; p < k; p++)
                {
                    sum = MathF.FusedMultiplyAdd(*ap, *bp, sum);
                    ap += aCol;
                    bp += ldb;
                }
                c[i * ldc + j] = relu ? MathF.Max(sum, 0f) : sum;
            }
        }
    }
}
