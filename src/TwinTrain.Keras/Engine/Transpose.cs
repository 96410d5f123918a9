namespace TwinTrain.Keras.Engine;

public static unsafe class Transpose
{
    /// <summary>Writes the (columns x rows) transpose of a row-major (rows x columns) matrix.</summary>
    public static void Matrix(ReadOnlySpan<float> source, int rows, int columns, Span<float> target)
    {
        if (source.Length < rows * columns || target.Length < rows * columns)
            throw new ArgumentException("The spans are smaller than the matrix.");
        fixed (float* s = source, t = target)
        {
            // In 8 x 8 blocks, so both sides are read and written a cache line at a time.
            for (int r0 = 0; r0 < rows; r0 += 8)
            {
                int r1 = Math.Min(r0 + 8, rows);
                for (int c0 = 0; c0 < columns; c0 += 8)
                {
                    int c1 = Math.Min(c0 + 8, columns);
                    for (int r = r0; r < r1; r++)
                        for (int c = c0; c < c1; c++)
                            t[c * rows + r] = s[r * columns + c];
                }
            }
        }
    }
}
