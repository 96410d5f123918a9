namespace TwinTrain.Keras.Engine;

public static class Transpose
{
    /// <summary>Writes the (columns x rows) transpose of a row-major (rows x columns) matrix.</summary>
    public static void Matrix(ReadOnlySpan<float> source, int rows, int columns, Span<float> target)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                target[c * rows + r] = source[r * columns + c];
    }
}
