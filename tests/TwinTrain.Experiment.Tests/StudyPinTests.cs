using TwinTrain.Experiment.Frameworks;
using TwinTrain.Tests.Shared;

namespace TwinTrain.Experiment.Tests;

/// <summary>
/// The study's CNN must train exactly as it did before architectures came from model configs: the running losses
/// of the first steps on real data, for a fixed seed and thread count, pinned bit for bit (recorded from the code
/// before the refactor).
/// </summary>
public class StudyPinTests
{
    static double[] RunningLosses(string framework, int threads, string init)
    {
        var config = new TrainingConfig { BatchSize = 64, Seed = 3, Threads = threads, Init = init };
        var train = SharedData.Cifar10.Train.Subset(6 * 64);
        using var model = FrameworkCatalog.Create(framework, config, train);
        var losses = new List<double>();
        model.TrainEpoch(0, (_, running) => losses.Add(running.Loss), CancellationToken.None);
        return [.. losses];
    }

    public static TheoryData<string, int, string, string> Pinned => new()
    {
        { "keras", 1, "native", "40027fdae1d9e850 40026b737668f64e 40027bcb974456fd 4002836458e82586 400281fd22188415 4002814c2dfc987c" },
        { "keras", 2, "native", "40027fdae1d9e850 40026b73768e654c 40027bcb97ae9a0f 4002836458d6f30c 400281fd21ab340d 4002814c2d5c7077" },
        { "torch", 1, "native", "400261b6e0000000 400266a710000000 40026fc4e0000000 4002751980000000 400273de0ccccccd 4002768095555555" },
        { "torch", 1, "shared", "40027fdae0000000 40026b3070000000 40027b4335555555 400282ef40000000 400281db60000000 4002808c65555555" },
    };

    [Theory]
    [MemberData(nameof(Pinned))]
    public void Should_train_the_study_exactly_as_before_model_configs(string framework, int threads, string init, string pinned)
    {
        var losses = RunningLosses(framework, threads, init);
        string actual = string.Join(" ", losses.Select(l => BitConverter.DoubleToInt64Bits(l).ToString("x16")));
        Assert.Equal(pinned, actual);
    }
}
