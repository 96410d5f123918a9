using System.Runtime.CompilerServices;

namespace TwinTrain.Keras.Engine;

/// <summary>
/// Floats that start on a 64-byte cache line and never move (pinned). The kernels load eight floats at a time;
/// a load that straddles two cache lines costs twice, and with an arbitrary start half of them would.
/// </summary>
internal sealed unsafe class AlignedBuffer
{
    /// <summary>Floats per cache line: offsets that are multiples of it keep the alignment.</summary>
    public const int LineFloats = 16;

    readonly float[] _array;
    readonly int _start;

    public AlignedBuffer(int length)
    {
        _array = GC.AllocateArray<float>(length + LineFloats, pinned: true);
        long address = (long)Unsafe.AsPointer(ref _array[0]);
        _start = (int)((64 - address % 64) % 64 / sizeof(float));
        Length = length;
    }

    public int Length { get; }
    public Span<float> Span => _array.AsSpan(_start, Length);
    public Span<float> AsSpan(int start, int length) => Span.Slice(start, length);

    /// <summary>The first float; valid as long as the buffer lives (it is pinned).</summary>
    public float* Pointer => (float*)Unsafe.AsPointer(ref _array[_start]);

    /// <summary>Rounds a count of floats up to whole cache lines.</summary>
    public static int Lines(int floats) => (floats + LineFloats - 1) / LineFloats * LineFloats;
}
