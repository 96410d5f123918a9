using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras.Tests;

public class WinogradTests
{
    [Theory]
    [InlineData(15, 15, 32, 64, "relu")]   // the study's second convolution (odd output size: partial tiles)
    [InlineData(6, 9, 8, 16, "linear")]
    [InlineData(25, 25, 8, 16, "relu")]    // 23x23 outputs: F(4x4, 3x3), its last tiles partial
    public void Should_give_the_direct_convolutions_outputs(int height, int width, int channels, int filters, string activation)
    {
        var layer = new Conv2D(filters, (3, 3), activation: activation);
        var random = new Random(5);
        layer.Build([height, width, channels], random);
        for (int i = 0; i < layer.Bias!.Size; i++) layer.Bias.Value[i] = (float)(random.NextDouble() - 0.5);
        layer.OnWeightsChanged();
        const int batch = 3;
        var input = Enumerable.Range(0, batch * layer.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var scratch = new float[layer.ScratchSize(batch)];

        var winograd = new float[batch * layer.OutputSize];
        layer.Call(input, winograd, batch, CallContext.Inference, scratch);
        layer.AllowWinograd = false;
        var direct = new float[batch * layer.OutputSize];
        layer.Call(input, direct, batch, CallContext.Inference, scratch);

        double scale = direct.Max(Math.Abs);
        for (int i = 0; i < direct.Length; i++)
            Assert.True(Math.Abs(direct[i] - winograd[i]) <= 1e-5 * scale, $"output {i}: direct {direct[i]}, winograd {winograd[i]}");
        Assert.Contains(winograd, v => v != 0);
    }

    [Theory]
    [InlineData(32, 32, 3, 32)]   // the study's first convolution
    [InlineData(9, 7, 5, 16)]
    public void Should_give_the_same_outputs_read_straight_from_the_image_as_through_im2col(int height, int width, int channels, int filters)
    {
        var layer = new Conv2D(filters, (3, 3), activation: "relu");
        var random = new Random(6);
        layer.Build([height, width, channels], random);
        for (int i = 0; i < layer.Bias!.Size; i++) layer.Bias.Value[i] = (float)(random.NextDouble() - 0.5);
        layer.OnWeightsChanged();
        layer.AllowWinograd = false;
        const int batch = 2;
        var input = Enumerable.Range(0, batch * layer.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var scratch = new float[layer.ScratchSize(batch)];
        var direct = new float[batch * layer.OutputSize];
        layer.Call(input, direct, batch, CallContext.Inference, scratch);
        layer.AllowDirect = false;
        var im2col = new float[batch * layer.OutputSize];
        layer.Call(input, im2col, batch, CallContext.Inference, scratch);
        for (int i = 0; i < direct.Length; i++) Assert.True(Math.Abs(direct[i] - im2col[i]) < 1e-5, $"output {i}: {direct[i]} vs {im2col[i]}");
        Assert.Contains(direct, v => v > 0);
    }

    /// <summary>
    /// The sparse backward pass (dy's non-zeros listed, their im2col rows or image rows summed) against the dense
    /// products it replaces, on one non-zero in eight, as behind 2x2 max pooling and ReLU; with and without the input
    /// gradient (the first layer computes none).
    /// </summary>
    [Theory]
    [InlineData(32, 32, 3, 32, 1, "valid", false)]   // the study's first convolution's shape: windows of 27 floats (input gradient)
    [InlineData(28, 28, 1, 32, 1, "valid", false)]   // one channel: windows of 9
    [InlineData(9, 8, 16, 16, 2, "same", false)]     // strided, asymmetric same padding: im2col rows of 145, both gradients
    [InlineData(9, 8, 16, 16, 2, "same", true)]      // the same as a first layer: the weight gradient alone
    [InlineData(7, 9, 32, 16, 1, "same", false)]     // straight from the padded image
    [InlineData(7, 9, 32, 16, 1, "same", true)]
    public void Should_give_the_dense_backward_passes_gradients_on_a_sparse_output_gradient(int height, int width, int channels, int filters,
        int stride, string padding, bool firstLayer)
    {
        var layer = new Conv2D(filters, (3, 3), strides: (stride, stride), padding: padding);
        var random = new Random(8);
        layer.Build([height, width, channels], random);
        const int batch = 3;
        var input = Enumerable.Range(0, batch * layer.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var outputGradient = Enumerable.Range(0, batch * layer.OutputSize)
            .Select(_ => random.Next(8) == 0 ? (float)(random.NextDouble() * 2 - 1) : 0f).ToArray();
        var output = new float[outputGradient.Length];
        var scratch = new float[layer.ScratchSize(batch)];
        layer.Call(input, output, batch, CallContext.Inference, scratch);

        (float[] Input, float[] Kernel, float[] Bias) Gradients(bool sparse)
        {
            layer.AllowSparse = sparse;
            var inputGradient = firstLayer ? [] : new float[input.Length];
            float[][] weights = [new float[layer.Kernel.Size], new float[filters]];
            layer.Backward(input, output, (float[])outputGradient.Clone(), inputGradient, batch, weights, scratch);
            return (inputGradient, weights[0], weights[1]);
        }
        var dense = Gradients(sparse: false);
        var sparse = Gradients(sparse: true);
        foreach (var (what, d, s) in new[] { ("input", dense.Input, sparse.Input), ("kernel", dense.Kernel, sparse.Kernel), ("bias", dense.Bias, sparse.Bias) })
        {
            double scale = Math.Max(1e-6, d.Length == 0 ? 0 : d.Max(Math.Abs));
            for (int i = 0; i < d.Length; i++)
                Assert.True(Math.Abs(d[i] - s[i]) <= 2e-6 * scale, $"{what} gradient {i}: dense {d[i]}, sparse {s[i]}");
            Assert.True(d.Length == 0 || d.Any(v => v != 0), $"the {what} gradient is all zeros");
        }
    }

    /// <summary>
    /// A gradient the executor marks dense (<see cref="Conv2D.DenseGradient"/>: no max pooling follows) is not counted
    /// for zeros: it takes the dense products at once, which give what they give after counting, bit for bit; a
    /// padded convolution gathers its im2col rows from its padded copy, the same rows as from the image with its
    /// edges checked one by one.
    /// </summary>
    [Theory]
    [InlineData(32, 32, 3, 32, "same", true)]    // cifar-bn's first convolution: padded rows, no input gradient
    [InlineData(9, 8, 16, 16, "same", false)]    // Winograd's weight and input gradients
    [InlineData(9, 8, 16, 16, "valid", false)]
    public void Should_give_the_counted_paths_gradients_when_the_gradient_is_marked_dense(int height, int width, int channels, int filters,
        string padding, bool firstLayer)
    {
        var layer = new Conv2D(filters, (3, 3), padding: padding);
        var random = new Random(12);
        layer.Build([height, width, channels], random);
        const int batch = 3;
        var input = Enumerable.Range(0, batch * layer.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var output = new float[batch * layer.OutputSize];
        var scratch = new float[layer.ScratchSize(batch)];
        (float[] Input, float[] Kernel, float[] Bias) Gradients(float[] outputGradient, bool dense, bool direct = true, bool sparse = true)
        {
            (layer.DenseGradient, layer.AllowDirect, layer.AllowSparse) = (dense, direct, sparse);
            var inputGradient = firstLayer ? [] : new float[input.Length];
            float[][] weights = [new float[layer.Kernel.Size], new float[filters]];
            layer.Backward(input, output, (float[])outputGradient.Clone(), inputGradient, batch, weights, scratch);
            return (inputGradient, weights[0], weights[1]);
        }
        static void Same((float[] Input, float[] Kernel, float[] Bias) expected, (float[] Input, float[] Kernel, float[] Bias) actual)
        {
            Assert.Equal(expected.Input, actual.Input);
            Assert.Equal(expected.Kernel, actual.Kernel);
            Assert.Equal(expected.Bias, actual.Bias);
            Assert.Contains(actual.Kernel, v => v != 0);
        }
        var dense = Enumerable.Range(0, output.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        Same(Gradients(dense, dense: false, direct: false), Gradients(dense, dense: true));
        // Mostly zeros, as behind max pooling: marked dense, it takes the dense products the counted path would not.
        var sparse = dense.Select(v => random.Next(8) == 0 ? v : 0f).ToArray();
        Same(Gradients(sparse, dense: false, direct: false, sparse: false), Gradients(sparse, dense: true));
    }

    /// <summary>
    /// The weight gradient in Winograd's domain (dU = Σ V[e]ᵀ A dy Aᵀ, then Gᵀ dU G), taken where dy is dense (behind
    /// BatchNormalization), against the im2col product colsᵀ · dy on the same gradient; the bias gradient and the input
    /// gradient with it.
    /// </summary>
    [Theory]
    [InlineData(16, 16, 32, 64, "same")]    // cifar-bn's second convolution
    [InlineData(15, 15, 32, 64, "valid")]   // odd output: partial tiles
    [InlineData(5, 7, 8, 16, "same")]
    [InlineData(23, 23, 8, 16, "same")]     // F(4x4, 3x3) with partial tiles
    public void Should_give_the_im2col_weight_gradient_in_winograds_domain(int height, int width, int channels, int filters, string padding)
    {
        var layer = new Conv2D(filters, (3, 3), padding: padding);
        var random = new Random(9);
        layer.Build([height, width, channels], random);
        const int batch = 3;
        var input = Enumerable.Range(0, batch * layer.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var outputGradient = Enumerable.Range(0, batch * layer.OutputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var output = new float[outputGradient.Length];
        var scratch = new float[layer.ScratchSize(batch)];

        (float[] Input, float[] Kernel, float[] Bias) Gradients(bool winograd)
        {
            layer.AllowWinograd = winograd;
            var inputGradient = new float[input.Length];
            float[][] weights = [new float[layer.Kernel.Size], new float[filters]];
            layer.Backward(input, output, (float[])outputGradient.Clone(), inputGradient, batch, weights, scratch);
            return (inputGradient, weights[0], weights[1]);
        }
        var im2col = Gradients(winograd: false);
        var winograd = Gradients(winograd: true);
        foreach (var (what, expected, actual) in new[] { ("input", im2col.Input, winograd.Input), ("kernel", im2col.Kernel, winograd.Kernel), ("bias", im2col.Bias, winograd.Bias) })
        {
            double scale = expected.Max(Math.Abs);
            Assert.True(scale > 0, $"the {what} gradient is all zeros");
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * scale, $"{what} gradient {i}: im2col {expected[i]}, winograd {actual[i]}");
        }
    }

    /// <summary>
    /// Winograd's products over a group of images (<see cref="Conv2D.AllowGroups"/>) give each output row from the same
    /// row and kernel plane, and a weight gradient's sum over the group's tiles in the order image after image would:
    /// the forward pass and both gradients are the same bits as one image at a time, also for a last, smaller group.
    /// </summary>
    [Theory]
    [InlineData(16, 16, 32, 64, "same")]    // cifar-bn's second convolution: F(4x4, 3x3), 16 tiles, groups of 4
    [InlineData(8, 8, 64, 128, "same")]     // its third: F(2x2, 3x3), 16 tiles
    [InlineData(15, 15, 32, 64, "valid")]   // the study's second: 49 tiles, groups of 2
    [InlineData(23, 23, 8, 16, "same")]     // F(4x4, 3x3) with partial tiles
    public void Should_give_the_same_bits_with_images_grouped_in_winograds_products(int height, int width, int channels, int filters, string padding)
    {
        var layer = new Conv2D(filters, (3, 3), padding: padding) { DenseGradient = true };
        var random = new Random(21);
        layer.Build([height, width, channels], random);
        const int batch = 7;
        var input = Enumerable.Range(0, batch * layer.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var outputGradient = Enumerable.Range(0, batch * layer.OutputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var scratch = new float[layer.ScratchSize(batch)];
        (float[] Output, float[] Input, float[] Kernel, float[] Bias) Run(bool groups)
        {
            layer.AllowGroups = groups;
            var output = new float[outputGradient.Length];
            layer.Call(input, output, batch, new CallContext(Training: true), scratch);
            var inputGradient = new float[input.Length];
            float[][] weights = [new float[layer.Kernel.Size], new float[filters]];
            layer.Backward(input, output, (float[])outputGradient.Clone(), inputGradient, batch, weights, scratch, preActivation: true);
            return (output, inputGradient, weights[0], weights[1]);
        }
        var apart = Run(groups: false);
        var grouped = Run(groups: true);
        Assert.Contains(apart.Output, v => v != 0);
        Assert.Contains(apart.Kernel, v => v != 0);
        Assert.Equal(apart.Output, grouped.Output);
        Assert.Equal(apart.Input, grouped.Input);
        Assert.Equal(apart.Kernel, grouped.Kernel);
        Assert.Equal(apart.Bias, grouped.Bias);
    }

    /// <summary>
    /// F(4x4, 3x3) only where its tiles fit the outputs as tightly as F(2x2, 3x3)'s and each image has at least 16 of
    /// them: so the study's 13x13 convolution keeps the small tile, cifar-bn's 16x16 one takes the large.
    /// </summary>
    [Theory]
    [InlineData(15, 15, 0, "F(2x2, 3x3)")]   // the study's conv2: 13x13 outputs; 4x4 tiles would cover 16x16
    [InlineData(16, 16, 1, "F(4x4, 3x3)")]   // cifar-bn's and cifar-strided's 16x16 convolutions
    [InlineData(8, 8, 1, "F(2x2, 3x3)")]     // 8x8: four large tiles only
    [InlineData(25, 25, 0, "F(4x4, 3x3)")]   // 23x23: both tilings cover 24x24
    public void Should_take_the_large_tile_only_where_it_fits_as_tightly(int height, int width, int padding, string expected)
    {
        var g = new Engine.ConvGeometry(height + 2 * padding, width + 2 * padding, 8, 3, 3, 1, 1, 0, 0, height + 2 * padding - 2, width + 2 * padding - 2);
        Assert.Equal(expected, Engine.WinogradVariant.For(g).Name);
    }
}
