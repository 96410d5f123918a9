namespace TwinTrain.Experiment.Models;

/// <summary>Rows of ten class scores, as the models and ONNX Runtime give them.</summary>
public static class ClassScores
{
    /// <summary>The index of the highest score (the first, on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    /// <summary>Turns each row of <paramref name="width"/> logits into probabilities, in place (stable: max subtracted first).</summary>
    public static float[] Softmax(float[] logits, int width)
    {
        for (int start = 0; start < logits.Length; start += width)
        {
            var row = logits.AsSpan(start, width);
            float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
            System.Numerics.Tensors.TensorPrimitives.Subtract(row, max, row);
            System.Numerics.Tensors.TensorPrimitives.Exp(row, row);
            System.Numerics.Tensors.TensorPrimitives.Divide(row, System.Numerics.Tensors.TensorPrimitives.Sum(row), row);
        }
        return logits;
    }
}
