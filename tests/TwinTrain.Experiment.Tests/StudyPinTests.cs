using TorchSharp;
using TwinTrain.Data.Batching;
using TwinTrain.Experiment.Architectures;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Tests.Shared;
using TwinTrain.Frameworks.Torch;
using TwinTrain.Frameworks.Torch.Study;

namespace TwinTrain.Experiment.Tests;

/// <summary>
/// The study's CNN must train exactly as it did before architectures came from model configs. What "exactly" can
/// mean depends on who defines the arithmetic:
/// - the Keras-style engine is TwinTrain's own code (fixed kernels, fixed reduction order per thread count), so its
///   running losses on real data are pinned bit for bit, on any machine;
/// - TorchSharp's are libtorch's: it picks its kernels and blocking by CPU (oneDNN, AVX2 or AVX-512 paths), so its
///   last bits belong to the machine, not to TwinTrain. Its run is held instead to the hand-written study module
///   (<see cref="StudyCnn"/>, the code before model configs) recomputed on this machine with the same seed, data and
///   weights, and to the losses recorded before the refactor within float32 rounding over these steps.
/// </summary>
public class StudyPinTests
{
    const int Steps = 6, Seed = 3;

    static TrainingConfig Config(int threads, string init) => new() { BatchSize = 64, Seed = Seed, Threads = threads, Init = Choice.Parse<Initialisation>(init, "init") };

    static Data.ImageSet Train => SharedData.Cifar10.Train.Subset(Steps * 64);

    static double[] RunningLosses(string framework, int threads, string init)
    {
        using var model = FrameworkCatalog.Create(framework, Config(threads, init), Train);
        var losses = new List<double>();
        model.TrainEpoch(0, (_, running) => losses.Add(running.Loss), CancellationToken.None);
        return [.. losses];
    }

    /// <summary>The same steps through the study's hand-written nn.Module and loop, as the code before model configs ran them.</summary>
    static double[] HandWrittenStudyLosses(int threads, string init)
    {
        torch.set_num_threads(threads);
        torch.manual_seed(Seed);
        using var model = new StudyCnn();
        if (init == "shared")
        {
            using var shared = Architecture.Study.Build(Seed);
            TorchWeights.KerasToTorch(shared, model, Architecture.Study.Torch);
        }
        using var optimizer = torch.optim.Adam(model.parameters(), lr: 0.001);
        var batches = new Batches(Train, 64, ImageLayout.Nchw);
        batches.StartEpoch(Seed, 0);
        var losses = new List<double>();
        TorchTraining.TrainEpoch(model, optimizer, batches, (_, running) => losses.Add(running.Loss));
        return [.. losses];
    }

    static string Bits(IEnumerable<double> losses) => string.Join(" ", losses.Select(l => BitConverter.DoubleToInt64Bits(l).ToString("x16")));

    public static TheoryData<int, string> KerasPinned => new()
    {
        { 1, "40027fdae1d9e850 40026b737668f64e 40027bcb974456fd 4002836458e82586 400281fd22188415 4002814c2dfc987c" },
        { 2, "40027fdae1d9e850 40026b73768e654c 40027bcb97ae9a0f 4002836458d6f30c 400281fd21ab340d 4002814c2d5c7077" },
    };

    [Theory]
    [MemberData(nameof(KerasPinned))]
    public void Should_train_the_study_in_the_keras_engine_bit_for_bit_as_before_model_configs(int threads, string pinned)
    {
        Assert.Equal(pinned, Bits(RunningLosses("keras", threads, "native")));
    }

    /// <summary>Recorded on the machine the refactor was made on (a 2-core AMD EPYC, libtorch 2.10), before model configs.</summary>
    public static TheoryData<string, string> TorchRecorded => new()
    {
        { "native", "400261b6e0000000 400266a710000000 40026fc4e0000000 4002751980000000 400273de0ccccccd 4002768095555555" },
        { "shared", "40027fdae0000000 40026b3070000000 40027b4335555555 400282ef40000000 400281db60000000 4002808c65555555" },
    };

    [Theory]
    [MemberData(nameof(TorchRecorded))]
    public void Should_train_the_study_in_torchsharp_as_the_hand_written_module_does_on_this_machine(string init, string recorded)
    {
        var fromConfig = RunningLosses("torch", threads: 1, init);
        var handWritten = HandWrittenStudyLosses(threads: 1, init);
        // The same library, machine, thread count, initial weights and operations (nn.ReLU modules instead of
        // functional.relu, nn.Flatten instead of x.flatten(1): the same kernels), so the same numbers; a relative
        // 1e-6 leaves room only for a reordered sum inside libtorch, never for a different model or loop.
        for (int i = 0; i < Steps; i++)
            Assert.True(Math.Abs(fromConfig[i] - handWritten[i]) <= 1e-6 * handWritten[i],
                $"step {i + 1}: {fromConfig[i]:R} from the config, {handWritten[i]:R} from the hand-written study module");

        // Against the recording from another CPU: each loss is a float32 mean over 64 samples after up to 5 Adam
        // steps; kernels that block their sums differently change it by a few float32 ulps (2^-23 relative each),
        // which the steps can amplify. 1e-5 relative (about 80 ulps) holds that, and no change of the model or data
        // (a different weight, sample or order moves the loss by 1e-3 or more).
        var pinned = recorded.Split(' ').Select(h => BitConverter.Int64BitsToDouble(Convert.ToInt64(h, 16))).ToArray();
        for (int i = 0; i < Steps; i++)
            Assert.True(Math.Abs(fromConfig[i] - pinned[i]) <= 1e-5 * pinned[i],
                $"step {i + 1}: {fromConfig[i]:R} here, {pinned[i]:R} recorded before model configs");
    }
}
