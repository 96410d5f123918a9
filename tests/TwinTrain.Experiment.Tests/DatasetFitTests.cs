using TwinTrain.Data;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Experiment.Tests;

/// <summary>The architecture follows the data set: a preset takes its image shape and class count, a config file must fit.</summary>
public class DatasetFitTests
{
    [Fact]
    public void Should_fit_the_study_preset_to_fashion_mnist_with_a_1600_wide_flatten_and_121930_parameters()
    {
        var fitted = Architecture.Resolve("study").ForData(DatasetInfo.FashionMnist);
        // 28 -> conv 26 -> pool 13 -> conv 11 -> pool 5: 5 x 5 x 64 = 1,600; 320 + 18,496 + 102,464 + 650 = 121,930.
        Assert.Equal([28, 28, 1], fitted.InputShape);
        Assert.Equal(10, fitted.OutputSize);
        Assert.Equal(121_930, fitted.Parameters);
        Assert.Contains("(None, 1600)", fitted.Summary);
        Assert.False(fitted.IsStudy); // the study's listings are for its CIFAR-10 network
        Assert.Equal("preset 'study' for fashion-mnist (28x28x1, 10 classes)", fitted.Source);
        Assert.True(Architecture.Resolve("study").ForData(DatasetInfo.Cifar10).IsStudy);
        Assert.Equal(DatasetInfo.FashionMnist.Shape.ChannelsLast, Architecture.Resolve("cifar-bn").ForData(DatasetInfo.FashionMnist).InputShape);
    }

    [Fact]
    public void Should_refuse_a_config_file_that_does_not_fit_the_data_naming_both()
    {
        using var temp = new TempFolder();
        Architecture.Study.WriteTo(temp.Path);
        string file = Path.Combine(temp.Path, Architecture.FileName);
        var error = Assert.Throws<InvalidDataException>(() => Architecture.Resolve(file).ForData(DatasetInfo.FashionMnist));
        Assert.Equal($"{file}: the model takes input (None, 32, 32, 3) but the data's images are (None, 28, 28, 1); set the InputLayer's batch_shape to [null, 28, 28, 1].", error.Message);
    }

    [Theory]
    [InlineData("keras")]
    [InlineData("torch")]
    public void Should_train_the_fitted_study_on_one_channel_images_in_both_frameworks(string framework)
    {
        var architecture = Architecture.Resolve("study").ForData(DatasetInfo.FashionMnist);
        var random = new Random(5);
        var pixels = new byte[64 * 28 * 28];
        random.NextBytes(pixels);
        var set = new ImageSet(pixels, [.. Enumerable.Range(0, 64).Select(i => (byte)(i % 10))], DatasetInfo.FashionMnist.Shape);
        var config = new TrainingConfig { BatchSize = 32, Seed = 1, Threads = 1, Arch = architecture.Name };
        using var model = FrameworkCatalog.Create(framework, config, set, architecture);
        var running = model.TrainEpoch(0, (_, _) => { }, CancellationToken.None);
        Assert.True(double.IsFinite(running.Loss) && running.Loss > 0, $"loss {running.Loss}");
        Assert.Equal(64, model.PredictClasses(set).Length);
    }
}
