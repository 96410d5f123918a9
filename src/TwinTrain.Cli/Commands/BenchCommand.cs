using System.CommandLine;
using System.Globalization;
using TwinTrain.Experiment;
using TwinTrain.Experiment.Architectures;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Cli.Commands;

/// <summary>`twintrain bench`: training and evaluation throughput of both frameworks, measured in the same run.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var threads = new Option<int>("--threads") { Description = "CPU threads for both frameworks.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { Description = "Training steps per round.", DefaultValueFactory = _ => 100 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds per framework (medians are reported).", DefaultValueFactory = _ => 5 };
        var arch = new Option<string>("--arch") { Description = $"The network: a preset ({string.Join(", ", Architecture.Presets)}) or a Keras model config file.", DefaultValueFactory = _ => Architecture.Default };
        var tuned = new Option<bool>("--torch-tuned") { Description = "Also measure TorchSharp with the settings a performance-minded user would apply on CPU (channels_last, inference_mode, one inter-op thread)." };
        var frameworks = new Option<string>("--frameworks") { Description = $"Comma-separated frameworks to measure, one or more of: {string.Join(", ", Experiment.Frameworks.FrameworkCatalog.Names)}.", DefaultValueFactory = _ => "torch,keras" };
        var python = new Option<string?>("--python") { Description = "The Python that runs the pytorch framework's worker." };
        var dataset = new Option<string>("--dataset") { Description = $"The images' shape and class count (random pixels): {string.Join(", ", Data.DatasetInfo.Names)}; a preset is fitted to it.", DefaultValueFactory = _ => Data.DatasetInfo.Cifar10.Name };
        dataset.AcceptOnlyFromAmong([.. Data.DatasetInfo.Names]);
        var command = new Command("bench", "Benchmark a network (--arch; default the study's CNN) in both frameworks on random data (images/s, GFLOP/s, ratios).")
        {
            arch, dataset, threads, batchSize, steps, rounds, tuned, frameworks, python,
        };
        command.SetAction(parse =>
        {
            int t = parse.GetValue(threads), b = parse.GetValue(batchSize), s = parse.GetValue(steps), r = parse.GetValue(rounds);
            if (t < 1 || b < 1 || s < 1 || r < 1) throw new ArgumentException("--threads, --batch-size, --steps and --rounds must be at least 1.");
            if (b > TrainingConfig.MaxBatchSize) throw new ArgumentException($"--batch-size must be at most {TrainingConfig.MaxBatchSize:N0} (got {b:N0}).");
            TrainingOptions.WarnIfOversubscribed(t, parse.InvocationConfiguration.Error);
            var output = parse.InvocationConfiguration.Output;

            var names = Experiment.Frameworks.FrameworkCatalog.ParseList(parse.GetValue(frameworks)!, minimum: 1);
            if (parse.GetValue(python) is { } pythonPath) Frameworks.PyTorch.PythonLocator.Override = pythonPath;
            var data = Data.DatasetInfo.Named(parse.GetValue(dataset)!)!;
            var architecture = Architecture.Resolve(parse.GetValue(arch)!).ForData(data);
            var (trainFlops, evalFlops) = Benchmark.FlopsPerImage(architecture);
            output.WriteLine(F($"{architecture.Name} ({architecture.Parameters:N0} parameters{(data == Data.DatasetInfo.Cifar10 ? "" : $"; {data.Title}'s {data.Shape} images, {data.Classes} classes")}), batch {b}, {t} threads, {s} steps x {r} interleaved rounds, random data; CPU {Experiment.Reporting.MachineInfo.Current.CpuModel}"));
            var result = Benchmark.Run(architecture, t, b, s, r, output, parse.GetValue(tuned), names);
            var (peak, how) = Benchmark.NominalPeak(t);
            output.WriteLine(F($"Nominal peak {peak:F1} GFLOP/s: {how}"));
            output.WriteLine(F($"GFLOP/s count the convolutions' and dense layers' direct {trainFlops / 1e6:F1} MFLOP per training image and {evalFlops / 1e6:F1} per evaluated one;"));
            output.WriteLine("Winograd and skipped zeros do fewer, so an engine that uses them can pass 100% of the peak.");
            output.WriteLine(F($"{"",-11} {"train img/s",12} {"GFLOP/s",8} {"% peak",7} {"eval img/s",11} {"GFLOP/s",8} {"% peak",7}"));
            foreach (var (name, train, eval) in result.Medians)
            {
                double trainGflops = train * trainFlops / 1e9, evalGflops = eval * evalFlops / 1e9;
                output.WriteLine(F($"{name,-11} {train,12:F0} {trainGflops,8:F1} {100 * trainGflops / peak,6:F0}% {eval,11:F0} {evalGflops,8:F1} {100 * evalGflops / peak,6:F0}%"));
            }
            output.WriteLine("Kernel micro-benchmark, keras engine (1 thread, this network's layers, m x n x k; flops the kernel does, skipped zeros not counted):");
            foreach (var kernel in Benchmark.KernelMicroBenchmark(architecture, TimeSpan.FromMilliseconds(200)))
                output.WriteLine(F($"  {kernel.Layer,-14} {kernel.Kernel,-40} {kernel.Shape,-16} {kernel.GflopsPerSecond,6:F1} GFLOP/s ({100 * kernel.GflopsPerSecond / (peak / t):F0}% of one core's nominal peak)"));
            WriteLayerProfile(architecture, t, b, peak, output);
            if (result.Medians.Count > 1)
            {
                output.WriteLine("Ratios, row / column (training, evaluation):");
                output.WriteLine(F($"  {"",-11}") + string.Concat(result.Medians.Select(m => F($"{m.Framework,20}"))));
                foreach (var row in result.Medians)
                    output.WriteLine(F($"  {row.Framework,-11}") + string.Concat(result.Medians.Select(column => row == column ? F($"{"",20}")
                        : F($"{$"{row.TrainImagesPerSecond / column.TrainImagesPerSecond:F2}x, {row.EvalImagesPerSecond / column.EvalImagesPerSecond:F2}x",20}"))));
            }
            if (result.Of("torch-tuned") is not null)
                output.WriteLine(F($"torch-tuned is {Frameworks.Torch.TorchCpuTuning.CpuTuned}; the inter-op setting holds for the whole process, so the plain torch rounds ran with it too."));
            if (result.Of("pytorch") is not null)
                output.WriteLine("pytorch's training rate is by the worker's own clock (its epoch's steps); its evaluation includes one request's round trip.");
            if (result.Load is { } load)
                output.WriteLine(result.DisturbedRounds == 0 && !load.Disturbed
                    ? $"Machine load: quiet ({load.Describe()})."
                    : $"Warning: the machine was busy during {result.DisturbedRounds} of {r} rounds ({load.Describe()}): the speeds and ratios are not representative; run bench with nothing else running.");
            // Last, for scripts.
            if (result.Of("keras") is { } keras && result.Of("torch") is { } torch)
                output.WriteLine(F($"ratio keras/torch: train {keras.TrainImagesPerSecond / torch.TrainImagesPerSecond:F2}x, eval {keras.EvalImagesPerSecond / torch.EvalImagesPerSecond:F2}x"));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The Keras-style engine's training step layer by layer: milliseconds per pass, GFLOP/s of the layer's direct
    /// products and their share of the dense limit (the nominal peak of all threads), so the slowest layer shows.
    /// </summary>
    static void WriteLayerProfile(Architecture architecture, int threads, int batch, double peak, TextWriter output)
    {
        var profile = Benchmark.LayerProfile(architecture, threads, batch, steps: 30);
        var (layers, stepSeconds) = (profile.Layers, profile.StepSeconds);
        output.WriteLine(F($"Per layer, keras engine ({threads} threads, batch {batch}, 30 training steps; ms per step, each worker's own time in the layer; GFLOP/s of the direct products, % of the {peak:F0} GFLOP/s dense limit; then the step's parts outside the layers):"));
        output.WriteLine(F($"  {"layer",-36} {"fwd ms",7} {"bwd ms",7} {"fwd GF/s",9} {"bwd GF/s",9} {"% limit",8} {"% step",7}"));
        static string Rate(double flops, double seconds) => flops == 0 || seconds == 0 ? "" : F($"{flops / seconds / 1e9:F1}");
        foreach (var layer in layers)
        {
            double seconds = layer.ForwardSeconds + layer.BackwardSeconds, flops = layer.ForwardFlops + layer.BackwardFlops;
            string share = flops == 0 || seconds == 0 ? "" : F($"{100 * flops / seconds / 1e9 / peak:F0}%");
            string time(double s) => seconds == 0 ? "fused" : F($"{1000 * s:F2}");
            output.WriteLine(F($"  {layer.Description,-36} {time(layer.ForwardSeconds),7} {time(layer.BackwardSeconds),7} {Rate(layer.ForwardFlops, layer.ForwardSeconds),9} {Rate(layer.BackwardFlops, layer.BackwardSeconds),9} {share,8} {100 * seconds / stepSeconds,6:F0}%"));
        }
        void Part(string name, double seconds) => output.WriteLine(F($"  {name,-36} {1000 * seconds,15:F2} {"",28} {100 * seconds / stepSeconds,6:F0}%"));
        Part("loss and its gradient", profile.LossSeconds);
        Part("optimizer: gradients summed, update", profile.OptimizerSeconds);
        Part("weight copies refreshed", profile.RefreshSeconds);
        if (profile.CombineSeconds > 0) Part("batch statistics combined", profile.CombineSeconds);
        Part("waits, and the batch copied in", profile.WaitSeconds);
        output.WriteLine(F($"  {"whole step",-36} {1000 * stepSeconds,15:F2} ms ({batch / stepSeconds:F0} images/s)"));
    }
}
