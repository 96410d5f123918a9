using TwinTrain.Keras.Engine;

namespace TwinTrain.Keras.Tests;

public class GemmTests
{
    static float[] Values(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>C = A·B in double precision, A addressed as a[i * aRow + p * aCol].</summary>
    static double[] Reference(int m, int n, int k, float[] a, int aRow, int aCol, float[] b, float[]? c0)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = c0?[i * n + j] ?? 0;
                for (int p = 0; p < k; p++) sum += (double)a[i * aRow + p * aCol] * b[p * n + j];
                c[i * n + j] = sum;
            }
        return c;
    }

    [Theory]
    [InlineData(13, 32, 27, false, false)]   // conv1-like: rows not a multiple of 6
    [InlineData(6, 64, 288, false, false)]   // conv2-like
    [InlineData(7, 10, 64, false, false)]    // fc2: columns not a multiple of 16
    [InlineData(25, 40, 9, true, false)]     // Aᵀ addressing (weight gradients)
    [InlineData(12, 48, 31, false, true)]    // accumulate into C
    [InlineData(5, 21, 3, true, true)]
    [InlineData(28, 32, 900, true, true)]    // conv1's weight gradient: four rows after the last whole block
    [InlineData(32, 64, 50, false, false)]   // a micro-batch through a dense layer: two rows left
    [InlineData(9, 16, 5, false, true)]      // three rows left
    public unsafe void Should_match_a_double_precision_product_with_simd_and_with_the_scalar_fallback(
        int m, int n, int k, bool transposedA, bool accumulate)
    {
        var a = Values(m * k, 1);
        var b = Values(k * n, 2);
        var c0 = accumulate ? Values(m * n, 3) : null;
        int aRow = transposedA ? 1 : k, aCol = transposedA ? m : 1;
        var expected = Reference(m, n, k, a, aRow, aCol, b, c0);

        foreach (bool scalar in new[] { false, true })
        {
            var c = c0 is null ? new float[m * n] : (float[])c0.Clone();
            using (scalar ? Gemm.ForceScalar() : null)
            {
                fixed (float* pa = a, pb = b, pc = c) Gemm.Multiply(m, n, k, pa, aRow, aCol, pb, n, pc, n, accumulate);
            }
            for (int i = 0; i < c.Length; i++)
                Assert.True(Math.Abs(c[i] - expected[i]) < 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"element {i} (scalar={scalar}): {c[i]} vs {expected[i]}");
        }
    }
}

public class SparseGemmTests
{
    [Theory]
    [InlineData(169, 288, 64, 0.2)]   // conv2's input gradient behind max pooling
    [InlineData(13, 100, 30, 0.5)]    // widths that are not multiples of 96 or 8
    [InlineData(4, 5, 7, 0.0)]        // all zeros
    public unsafe void Should_equal_the_dense_product_with_simd_and_with_the_scalar_fallback(int m, int n, int k, double density)
    {
        var random = new Random(3);
        var a = Enumerable.Range(0, m * k).Select(_ => random.NextDouble() < density ? (float)(random.NextDouble() * 2 - 1) : 0f).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var dense = new float[m * n];
        fixed (float* pa = a, pb = b, pc = dense)
        {
            Gemm.Multiply(m, n, k, pa, k, 1, pb, n, pc, n, accumulate: false);
            Assert.Equal(a.Count(v => v != 0) / (double)a.Length, SparseGemm.Density(pa, m, k, k), 10);
        }
        foreach (bool scalar in new[] { false, true })
        {
            var sparse = Enumerable.Repeat(float.NaN, m * n).ToArray();
            using (scalar ? Gemm.ForceScalar() : null)
            {
                fixed (float* pa = a, pb = b, pc = sparse) SparseGemm.Multiply(m, n, k, pa, k, pb, n, pc, n);
            }
            for (int i = 0; i < dense.Length; i++) Assert.True(Math.Abs(dense[i] - sparse[i]) < 1e-5, $"element {i}: {dense[i]} vs {sparse[i]} (scalar={scalar})");
        }
    }
}

public class SparseRowTests
{
    /// <summary>
    /// A sum of scaled rows for every width up to 40 (the narrow kernel's masked tails: an im2col row of 28 or 10
    /// floats) and past the 96-column block: the SIMD path adds in the list's order with fused multiply-adds, as the
    /// scalar path does, so the two agree bit for bit, and nothing after the row's last column is written.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void Should_give_the_scalar_paths_bits_and_write_nothing_past_the_row(bool accumulate)
    {
        var random = new Random(5);
        const int rows = 23, stride = 150, count = 17;
        var b = Enumerable.Range(0, rows * stride + 8).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var offsets = Enumerable.Range(0, count).Select(_ => random.Next(rows) * stride + random.Next(3)).ToArray();
        var factors = Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var start = Enumerable.Range(0, stride).Select(_ => (float)random.NextDouble()).ToArray();
        foreach (int n in Enumerable.Range(1, 40).Concat([95, 96, 97, 100, 120, 128, 130, 145]))
        {
            float[] simd = [.. start], scalar = [.. start];
            fixed (int* o = offsets)
            fixed (float* f = factors, pb = b, ps = simd, pc = scalar)
            {
                SparseGemm.AccumulateRow(count, o, f, pb, ps, n, accumulate, Gemm.UseSimd);
                SparseGemm.AccumulateRow(count, o, f, pb, pc, n, accumulate, simd: false);
            }
            for (int j = 0; j < n; j++)
                Assert.True(BitConverter.SingleToInt32Bits(simd[j]) == BitConverter.SingleToInt32Bits(scalar[j]), $"width {n}, column {j}: {simd[j]} vs {scalar[j]}");
            for (int j = n; j < stride; j++) Assert.True(simd[j] == start[j], $"width {n}: column {j} past the row was written");
        }
    }
}

public class TransposeTests
{
    [Theory]
    [InlineData(8, 8)]
    [InlineData(2304, 64)]   // the first dense layer's kernel
    [InlineData(13, 21)]     // edges in both directions
    [InlineData(1, 5)]
    public void Should_swap_rows_and_columns_with_simd_and_with_the_scalar_fallback(int rows, int columns)
    {
        var source = Enumerable.Range(0, rows * columns).Select(i => (float)i).ToArray();
        foreach (bool scalar in new[] { false, true })
        {
            var target = new float[rows * columns];
            using (scalar ? Gemm.ForceScalar() : null) Transpose.Matrix(source, rows, columns, target);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++)
                    Assert.Equal(source[r * columns + c], target[c * rows + r]);
        }
    }
}
