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
/// The pins were taken again when JPEG decoding moved to libjpeg-turbo (other pixels, so other losses; libjpeg-turbo's
/// integer decoding gives the same pixels on every machine, <c>JpegDecodingTests</c> checks them against PIL's).
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
        { 1, "40027fea14024144 40026c352f27bf0c 40027edc96c54c64 4002862f1a9d69b3 40028405f8affbac 4002829b12277477" },
        { 2, "40027fea14024146 40026c352f29a3e8 40027edc967bf2d5 4002862f1a6ee350 40028405f87f76e6 4002829b12060098" },
    };

    [Theory]
    [MemberData(nameof(KerasPinned))]
    public void Should_train_the_study_in_the_keras_engine_bit_for_bit_as_before_model_configs(int threads, string pinned)
    {
        Assert.Equal(pinned, Bits(RunningLosses("keras", threads, "native")));
    }

    /// <summary>
    /// Recorded on a 2-core AMD EPYC with libtorch 2.10 and libjpeg-turbo's pixels (the config's run, which equalled the
    /// hand-written module's within 1e-6 there).
    /// </summary>
    public static TheoryData<string, string> TorchRecorded => new()
    {
        { "native", "400261b480000000 400266c220000000 4002700020000000 40027532d8000000 400273b3d999999a 40027652d0000000" },
        { "shared", "40027fea00000000 40026bfef0000000 40027e6d40000000 4002862138000000 4002848446666666 4002830c6aaaaaab" },
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
                $"step {i + 1}: {fromConfig[i]:R} here, {pinned[i]:R} recorded");
    }
}
