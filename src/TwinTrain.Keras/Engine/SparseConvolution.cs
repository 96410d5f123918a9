using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TwinTrain.Keras.Engine;

/// <summary>
/// The backward pass of a valid, stride-1 convolution (<see cref="ConvGeometry.IsValidStrideOne"/>) for a mostly-zero
/// output gradient, read and written straight from the image (no im2col rows). A window's kernel row ky is
/// kw x channels consecutive floats of the image, so every product here is a sum of scaled image rows or kernel rows
/// (<see cref="SparseGemm.AccumulateRow"/>), taken over the gradient's non-zeros only. Behind 2x2 max pooling and
/// ReLU about one value in eight is non-zero.
/// </summary>
internal static unsafe class SparseConvolution
{
    /// <summary>Writes, for each output pixel, the offset of its window's first value in the image.</summary>
    public static void WindowOffsets(in ConvGeometry g, int* offsets)
    {
        for (int oy = 0; oy < g.OutHeight; oy++)
            for (int ox = 0; ox < g.OutWidth; ox++)
                offsets[oy * g.OutWidth + ox] = (oy * g.Width + ox) * g.Channels;
    }

    /// <summary>
    /// Lists the non-zeros of one image's output gradient dy (pixels x filters) by pixel, as rows of Wᵀ (filter x
    /// window), and by filter, as image windows. Returns how many there are.
    /// </summary>
    public static int List(float* dy, int pixels, int filters, int windowSize, int* windowOffsets, in GradientLists lists)
    {
        new Span<int>(lists.FilterCount, filters).Clear();
        int total = 0;
        bool pack = Gemm.UseSimd && Avx2.IsSupported;
        fixed (int* packTable = PackTable)
        {
            for (int p = 0; p < pixels; p++)
            {
                float* row = dy + (long)p * filters;
                int* pixelOffset = lists.PixelOffset + p * filters;
                float* pixelFactor = lists.PixelFactor + p * filters;
                int count = 0;
                for (int f0 = 0; f0 < filters; f0 += 8)
                {
                    int width = Math.Min(8, filters - f0);
                    if (pack && width == 8)
                    {
                        // Branch-free: move the non-zero lanes to the front and store all eight (the lists have room).
                        var values = Vector256.Load(row + f0);
                        uint mask = ~Vector256.Equals(values, Vector256<float>.Zero).ExtractMostSignificantBits() & 0xFF;
                        var order = Vector256.Load(packTable + mask * 8);
                        var filterIndices = Avx2.PermuteVar8x32(Vector256.Create(f0) + Lanes, order);
                        Avx2.PermuteVar8x32(values, order).Store(pixelFactor + count);
                        (filterIndices * windowSize).Store(pixelOffset + count);
                        filterIndices.Store(lists.PixelFilter + count);
                        count += BitOperations.PopCount(mask);
                        continue;
                    }
                    for (int f = f0; f < f0 + width; f++)
                    {
                        if (row[f] == 0f) continue;
                        pixelOffset[count] = f * windowSize;
                        pixelFactor[count] = row[f];
                        lists.PixelFilter[count++] = f;
                    }
                }
                lists.PixelCount[p] = count;
                total += count;
                int windowOffset = windowOffsets[p];
                for (int q = 0; q < count; q++)
                {
                    int filter = lists.PixelFilter[q];
                    int at = filter * pixels + lists.FilterCount[filter]++;
                    lists.FilterOffset[at] = windowOffset;
                    lists.FilterFactor[at] = pixelFactor[q];
                }
            }
        }
        return total;
    }

    static readonly Vector256<int> Lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);

    /// <summary>For each 8-bit mask, the positions of its set bits in order (then zeros): a permutation that packs them.</summary>
    static readonly int[] PackTable = Enumerable.Range(0, 256)
        .SelectMany(mask => Enumerable.Range(0, 8).Where(lane => (mask >> lane & 1) != 0).Concat(Enumerable.Repeat(0, 8)).Take(8))
        .ToArray();

    /// <summary>
    /// Adds dWᵀ (filters x (window + 1), the last column the bias gradient, row stride <paramref name="ld"/>) for one
    /// image: each filter's row is the sum of its non-zeros times their windows, one kernel row at a time.
    /// </summary>
    public static void AddWeightGradient(in ConvGeometry g, int filters, in GradientLists lists, float* image, float* dwT, int ld)
    {
        int pixels = g.OutPixels, segment = g.KernelWidth * g.Channels, imageRow = g.Width * g.Channels;
        bool simd = Gemm.UseSimd;
        for (int f = 0; f < filters; f++)
        {
            int count = lists.FilterCount[f];
            if (count == 0) continue;
            int* offsets = lists.FilterOffset + f * pixels;
            float* factors = lists.FilterFactor + f * pixels;
            float* target = dwT + (long)f * ld;
            for (int ky = 0; ky < g.KernelHeight; ky++)
                SparseGemm.AccumulateRow(count, offsets, factors, image + ky * imageRow, target + ky * segment, segment, accumulate: true, simd);
            float bias = 0f;
            for (int q = 0; q < count; q++) bias += factors[q];
            target[g.WindowSize] += bias;
        }
    }

    /// <summary>
    /// The same weight gradient from one image's im2col rows (window + 1 floats each, the last a 1, so the bias
    /// gradient comes with it), listed with <see cref="List"/> with window offsets p x (window + 1): for convolutions
    /// the image rows do not serve (strided, padded, or a kernel row that is not whole vectors).
    /// </summary>
    public static void AddWeightGradientFromRows(in GradientLists lists, int pixels, int filters, float* cols, int row, float* dwT, int ld)
    {
        bool simd = Gemm.UseSimd;
        for (int f = 0; f < filters; f++)
        {
            int count = lists.FilterCount[f];
            if (count == 0) continue;
            SparseGemm.AccumulateRow(count, lists.FilterOffset + f * pixels, lists.FilterFactor + f * pixels, cols, dwT + (long)f * ld, row, accumulate: true, simd);
        }
    }

    /// <summary>One image's im2col rows' gradient (pixels x window): each pixel's non-zeros times the matching rows of Wᵀ.</summary>
    public static void RowsGradient(in GradientLists lists, int pixels, int filters, float* kernelTransposed, int window, float* colsGradient)
    {
        bool simd = Gemm.UseSimd;
        for (int p = 0; p < pixels; p++)
        {
            SparseGemm.AccumulateRow(lists.PixelCount[p], lists.PixelOffset + p * filters, lists.PixelFactor + p * filters, kernelTransposed,
                colsGradient + (long)p * window, window, accumulate: false, simd);
        }
    }

    /// <summary>
    /// Writes one image's input gradient: each output pixel's non-zeros times the matching rows of Wᵀ (filters x
    /// window), added onto the window they came from, one kernel row at a time.
    /// </summary>
    public static void InputGradient(in ConvGeometry g, in GradientLists lists, int filters, int* windowOffsets, float* kernelTransposed, float* dx)
    {
        int segment = g.KernelWidth * g.Channels, imageRow = g.Width * g.Channels;
        bool simd = Gemm.UseSimd;
        new Span<float>(dx, g.Height * imageRow).Clear();
        for (int ky = 0; ky < g.KernelHeight; ky++)
        {
            for (int p = 0; p < g.OutPixels; p++)
            {
                int count = lists.PixelCount[p];
                if (count == 0) continue;
                SparseGemm.AccumulateRow(count, lists.PixelOffset + p * filters, lists.PixelFactor + p * filters, kernelTransposed + ky * segment,
                    dx + windowOffsets[p] + ky * imageRow, segment, accumulate: true, simd);
            }
        }
    }
}

/// <summary>
/// Scratch for <see cref="SparseConvolution.List"/>: a gradient's non-zeros listed by pixel (as offsets of rows of Wᵀ)
/// and by filter (as offsets of image windows), with 8 entries of room after the per-pixel arrays.
/// </summary>
internal readonly unsafe struct GradientLists
{
    public GradientLists(float* memory, int pixels, int filters)
    {
        int entries = pixels * filters;
        PixelCount = (int*)memory;
        PixelOffset = PixelCount + pixels;
        PixelFactor = (float*)(PixelOffset + entries + 8);
        PixelFilter = (int*)(PixelFactor + entries + 8);
        FilterCount = PixelFilter + filters + 8;
        FilterOffset = FilterCount + filters;
        FilterFactor = (float*)(FilterOffset + entries);
    }

    /// <summary>Floats of scratch the lists take.</summary>
    public static int Floats(int pixels, int filters) => 4 * pixels * filters + pixels + 2 * filters + 24;

    public int* PixelCount { get; }
    public int* PixelOffset { get; }
    public float* PixelFactor { get; }
    /// <summary>The filters of the pixel being listed.</summary>
    public int* PixelFilter { get; }
    public int* FilterCount { get; }
    public int* FilterOffset { get; }
    public float* FilterFactor { get; }
}
