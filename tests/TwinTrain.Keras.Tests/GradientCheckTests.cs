using TwinTrain.Keras.Engine;
using TwinTrain.Keras.Layers;

namespace TwinTrain.Keras.Tests;

/// <summary>
/// Every layer's backward pass against central finite differences of the scalar loss sum(output * r),
/// for random inputs, weights and r. A coordinate whose ±eps step crosses a ReLU kink (the set of zero outputs
/// changes) has no derivative to compare and is skipped; only a few may be.
/// </summary>
public class GradientCheckTests
{
    const int Batch = 2;

    static float[] RandomValues(Random random, int count, float scale = 1f) =>
        Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();

    static (double Loss, HashCode Zeros) Loss(Layer layer, float[] input, float[] r)
    {
        var output = new float[Batch * layer.OutputSize];
        Forward(layer, input, output, new float[layer.ScratchSize(Batch)]);
        double loss = 0;
        var zeros = new HashCode();
        for (int i = 0; i < output.Length; i++)
        {
            loss += (double)output[i] * r[i];
            if (output[i] == 0f) zeros.Add(i);
        }
        return (loss, zeros);
    }

    /// <summary>A training-mode forward pass; a layer that reduces over the batch first gets the batch's sums, as the executor does.</summary>
    static void Forward(Layer layer, float[] input, float[] output, float[] scratch)
    {
        if (layer is IBatchReduction reduction)
        {
            var sums = new double[reduction.ReductionSize];
            reduction.AddForwardSums(input, Batch, sums);
            reduction.CombineForward(sums, Batch);
        }
        layer.Call(input, output, Batch, new CallContext(Training: true), scratch);
    }

    static void Backward(Layer layer, float[] input, float[] output, float[] outputGradient, float[] inputGradient, float[][] weightGradients, float[] scratch)
    {
        if (layer is IBatchReduction reduction)
        {
            var sums = new double[reduction.ReductionSize];
            reduction.AddBackwardSums(input, output, outputGradient, Batch, weightGradients, sums, preActivation: false);
            reduction.CombineBackward(sums, Batch);
        }
        layer.Backward(input, output, outputGradient, inputGradient, Batch, weightGradients, scratch);
    }

    static void Check(Layer layer, int[] inputShape, int seed = 1, bool distinctInputs = false, bool sparseOutputGradient = false)
    {
        Run(layer, inputShape, seed, distinctInputs, sparseOutputGradient);
        using (Gemm.ForceScalar()) Run(layer, inputShape, seed, distinctInputs, sparseOutputGradient);
    }

    static void Run(Layer layer, int[] inputShape, int seed, bool distinctInputs, bool sparseOutputGradient)
    {
        var random = new Random(seed);
        layer.Build(inputShape, random);
        foreach (var w in layer.TrainableWeights)
        {
            // Non-zero biases too, so their effect is checked, and no exactly symmetric values.
            RandomValues(random, w.Size, 0.5f).CopyTo(w.Value, 0);
        }
        layer.OnWeightsChanged();
        var input = RandomValues(random, Batch * layer.InputSize);
        if (distinctInputs)
        {
            // Max pooling: values more than 2 eps apart, so no step changes which element is the maximum.
            input = Enumerable.Range(0, input.Length).Select(i => i * 0.04f - 1f).OrderBy(_ => random.Next()).ToArray();
        }
        var r = RandomValues(random, Batch * layer.OutputSize);
        if (sparseOutputGradient)
        {
            // Mostly zeros, as behind max pooling: the layer takes its sparse paths.
            for (int i = 0; i < r.Length; i++) if (random.NextDouble() < 0.85) r[i] = 0f;
        }

        var output = new float[Batch * layer.OutputSize];
        var scratch = new float[layer.ScratchSize(Batch)];
        Forward(layer, input, output, scratch);
        var outputGradient = (float[])r.Clone();
        var inputGradient = new float[input.Length];
        var weightGradients = layer.TrainableWeights.Select(w => new float[w.Size]).ToArray();
        Backward(layer, input, output, outputGradient, inputGradient, weightGradients, scratch);

        const float eps = 3e-3f;
        int compared = 0, skipped = 0;
        void Compare(float[] values, float[] analytic, string what)
        {
            for (int i = 0; i < values.Length; i++)
            {
                float saved = values[i];
                values[i] = saved + eps;
                layer.OnWeightsChanged();
                var (plus, plusZeros) = Loss(layer, input, r);
                values[i] = saved - eps;
                layer.OnWeightsChanged();
                var (minus, minusZeros) = Loss(layer, input, r);
                values[i] = saved;
                layer.OnWeightsChanged();
                if (plusZeros.ToHashCode() != minusZeros.ToHashCode())
                {
                    skipped++;
                    continue;
                }
                compared++;
                double numeric = (plus - minus) / (2 * eps);
                double tolerance = 2e-3 + 1e-2 * Math.Abs(numeric);
                Assert.True(Math.Abs(numeric - analytic[i]) <= tolerance,
                    $"{layer.GetType().Name} d(loss)/d({what}[{i}]): analytic {analytic[i]}, numeric {numeric}");
            }
        }

        Compare(input, inputGradient, "input");
        for (int w = 0; w < layer.TrainableWeights.Count; w++) Compare(layer.TrainableWeights[w].Value, weightGradients[w], layer.TrainableWeights[w].Name);
        Assert.True(skipped <= compared / 10, $"{skipped} coordinates crossed a ReLU kink, {compared} compared");
    }

    [Fact]
    public void Should_match_finite_differences_for_dense_linear() => Check(new Dense(21), [7]);

    [Fact]
    public void Should_match_finite_differences_for_dense_relu() => Check(new Dense(6, activation: "relu"), [5]);

    [Fact]
    public void Should_match_finite_differences_for_dense_softmax() => Check(new Dense(4, activation: "softmax"), [3]);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_valid() => Check(new Conv2D(19, (3, 3)), [6, 5, 2]);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_same_strided_relu() =>
        Check(new Conv2D(17, (3, 2), strides: (2, 2), padding: "same", activation: "relu"), [7, 6, 3]);

    [Fact]
    public void Should_match_finite_differences_for_max_pooling() => Check(new MaxPooling2D((2, 2)), [6, 4, 11], distinctInputs: true);

    [Fact]
    public void Should_match_finite_differences_for_overlapping_max_pooling() =>
        Check(new MaxPooling2D((3, 3), strides: (2, 2)), [7, 7, 2], distinctInputs: true);

    [Fact]
    public void Should_match_finite_differences_for_flatten() => Check(new Flatten(), [3, 2, 2]);

    [Fact]
    public void Should_match_finite_differences_for_average_pooling() => Check(new AveragePooling2D((2, 2)), [5, 4, 9]);

    [Fact]
    public void Should_match_finite_differences_for_overlapping_average_pooling() =>
        Check(new AveragePooling2D((3, 3), strides: (2, 2)), [7, 7, 2]);

    [Fact]
    public void Should_match_finite_differences_for_dropout_with_a_fixed_mask() => Check(new Dropout(0.3, seed: 5), [40]);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_with_a_sparse_output_gradient_and_narrow_windows() =>
        Check(new Conv2D(19, (3, 3)), [6, 5, 2], sparseOutputGradient: true);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_with_a_sparse_output_gradient_and_wide_windows() =>
        Check(new Conv2D(40, (3, 3), activation: "relu"), [5, 5, 12], sparseOutputGradient: true);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_with_a_sparse_output_gradient_read_straight_from_the_image() =>
        Check(new Conv2D(21, (3, 3), activation: "relu"), [6, 7, 32], sparseOutputGradient: true);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_with_a_sparse_output_gradient_and_short_image_rows() =>
        Check(new Conv2D(10, (3, 3)), [5, 6, 8], sparseOutputGradient: true);

    [Fact]
    public void Should_match_finite_differences_for_max_pooling_that_leaves_an_edge_uncovered() =>
        Check(new MaxPooling2D((2, 2)), [7, 5, 9], distinctInputs: true);

    [Fact]
    public void Should_match_finite_differences_for_two_by_two_max_pooling_over_channels_in_eights() =>
        Check(new MaxPooling2D((2, 2)), [5, 6, 16], distinctInputs: true);

    [Fact]
    public void Should_match_finite_differences_for_max_pooling_with_gaps_between_windows() =>
        Check(new MaxPooling2D((2, 2), strides: (3, 3)), [8, 8, 8], distinctInputs: true);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_on_the_winograd_path() =>
        Check(new Conv2D(16, (3, 3), activation: "relu"), [6, 7, 8]);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_read_straight_from_the_image() =>
        Check(new Conv2D(16, (3, 3), activation: "relu"), [6, 5, 3]);

    [Theory]
    [InlineData(16, 3)]  // direct from the padded image rows
    [InlineData(16, 8)]  // Winograd on the padded image
    [InlineData(19, 5)]  // im2col
    public void Should_match_finite_differences_for_conv2d_same_stride_one(int filters, int channels) =>
        Check(new Conv2D(filters, (3, 3), padding: "same", activation: "relu"), [5, 6, channels]);

    [Theory]
    [InlineData("same", 5, 6)]
    [InlineData("valid", 6, 7)]
    public void Should_match_finite_differences_for_conv2d_with_the_input_gradient_on_the_winograd_path(string padding, int height, int width) =>
        Check(new Conv2D(8, (3, 3), padding: padding), [height, width, 16]);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_same_with_a_sparse_output_gradient_read_from_the_padded_image() =>
        Check(new Conv2D(21, (3, 3), padding: "same", activation: "relu"), [6, 7, 32], sparseOutputGradient: true);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_same_with_an_even_kernel() =>
        Check(new Conv2D(16, (2, 2), padding: "same"), [5, 4, 8]);

    [Fact]
    public void Should_match_finite_differences_for_conv2d_without_bias() =>
        Check(new Conv2D(16, (3, 3), padding: "same", useBias: false), [5, 5, 8]);

    [Fact]
    public void Should_match_finite_differences_for_dense_without_bias() => Check(new Dense(5, useBias: false), [7]);

    [Fact]
    public void Should_match_finite_differences_for_batch_normalization_over_images() =>
        Check(new BatchNormalization(), [3, 4, 16]);

    [Fact]
    public void Should_match_finite_differences_for_batch_normalization_over_odd_channels_without_scale() =>
        Check(new BatchNormalization(epsilon: 0.01, scale: false), [2, 3, 5]);

    [Fact]
    public void Should_match_finite_differences_for_batch_normalization_of_a_flat_input() =>
        Check(new BatchNormalization(momentum: 0.9, center: false), [12]);

    [Fact]
    public void Should_match_finite_differences_for_batch_normalization_with_a_fused_relu() =>
        Check(new BatchNormalization { FuseRelu = true }, [3, 3, 8]);

    [Fact]
    public void Should_match_finite_differences_for_global_average_pooling() => Check(new GlobalAveragePooling2D(), [3, 5, 9]);

    [Fact]
    public void Should_match_finite_differences_for_max_pooling_same_on_odd_sizes() =>
        Check(new MaxPooling2D((2, 2), padding: "same"), [5, 7, 8], distinctInputs: true);

    [Fact]
    public void Should_match_finite_differences_for_overlapping_max_pooling_same() =>
        Check(new MaxPooling2D((3, 3), strides: (1, 1), padding: "same"), [4, 5, 3], distinctInputs: true);

    [Fact]
    public void Should_match_finite_differences_for_average_pooling_same() =>
        Check(new AveragePooling2D((3, 3), strides: (2, 2), padding: "same"), [6, 5, 4]);

    [Fact]
    public void Should_match_finite_differences_for_relu_and_softmax_layers()
    {
        Check(new ReLU(), [4, 3, 2]);
        Check(new ActivationLayer("softmax"), [6]);
    }
}
