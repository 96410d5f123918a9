using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TwinTrain.Keras.Engine;

/// <summary>Small raw-pointer loops for the engine's data movement, eight floats at a time where SIMD is on.</summary>
internal static unsafe class VectorOps
{
    /// <summary>
    /// Copies <paramref name="count"/> floats in whole vectors, so it may write up to 7 floats past the end of the
    /// target (the caller leaves room, and later writes overwrite them). It reads past the source only when the
    /// source has that room before <paramref name="sourceEnd"/>; otherwise it copies exactly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyOverrun(float* source, float* target, int count, float* sourceEnd, bool simd)
    {
        if (simd && source + ((count + 7) & ~7) <= sourceEnd)
        {
            for (int i = 0; i < count; i += 8) Vector256.Store(Vector256.Load(source + i), target + i);
        }
        else
        {
            Buffer.MemoryCopy(source, target, count * 4L, count * 4L);
        }
    }

    /// <summary>target[i] += source[i] for i &lt; count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddInto(float* source, float* target, int count, bool simd)
    {
        int i = 0;
        if (simd)
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(target + i) + Vector256.Load(source + i), target + i);
        for (; i < count; i++) target[i] += source[i];
    }

    /// <summary>Zeroes gradient[i] wherever output[i] is not positive (the ReLU's derivative).</summary>
    public static void ReluBackward(float* output, float* gradient, int count)
    {
        int i = 0;
        if (Gemm.UseSimd)
        {
            for (; i + 8 <= count; i += 8)
                Vector256.Store(Vector256.Load(gradient + i) & Vector256.GreaterThan(Vector256.Load(output + i), Vector256<float>.Zero), gradient + i);
        }
        for (; i < count; i++) if (!(output[i] > 0f)) gradient[i] = 0f;
    }
}
