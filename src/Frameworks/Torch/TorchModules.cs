using System.Globalization;
using System.Text.Json.Nodes;
using TwinTrain.Experiment.Architectures;
using static TorchSharp.torch;

namespace TwinTrain.Frameworks.Torch;

/// <summary>
/// The architecture's translation built as TorchSharp modules: the nn.Sequential a PyTorch user would write for it,
/// each module with PyTorch's own default initialisation. The worker's real PyTorch builds the same list the same
/// way (getattr(torch.nn, kind)(**args)).
/// </summary>
public static class TorchModules
{
    public static nn.Module<Tensor, Tensor> CreateModule(this TorchTranslation translation) =>
        nn.Sequential(translation.Modules.Select(m => (m.Name, Create(m))));

    static nn.Module<Tensor, Tensor> Create(TorchModule module)
    {
        var a = module.Args;
        return module.Kind switch
        {
            "Conv2d" => nn.Conv2d(Long(a, "in_channels"), Long(a, "out_channels"), Pair(a, "kernel_size"), stride: Pair(a, "stride"),
                padding: Pair(a, "padding"), bias: Bool(a, "bias")),
            "ZeroPad2d" => nn.ZeroPad2d(Quad(a, "padding")),
            "Linear" => nn.Linear(Long(a, "in_features"), Long(a, "out_features"), hasBias: Bool(a, "bias")),
            "BatchNorm2d" => nn.BatchNorm2d(Long(a, "num_features"), Double(a, "eps"), Double(a, "momentum"), Bool(a, "affine")),
            "BatchNorm1d" => nn.BatchNorm1d(Long(a, "num_features"), Double(a, "eps"), Double(a, "momentum"), Bool(a, "affine")),
            "ReLU" => nn.ReLU(),
            "Identity" => nn.Identity(),
            "Softmax" => nn.Softmax(Long(a, "dim")),
            "MaxPool2d" => nn.MaxPool2d(Pair(a, "kernel_size"), Pair(a, "stride"), Pair(a, "padding"), ceil_mode: Bool(a, "ceil_mode")),
            "AvgPool2d" => nn.AvgPool2d(Pair(a, "kernel_size"), Pair(a, "stride"), Pair(a, "padding"), ceil_mode: Bool(a, "ceil_mode"),
                count_include_pad: Bool(a, "count_include_pad")),
            "AdaptiveAvgPool2d" => nn.AdaptiveAvgPool2d(Long(a, "output_size")),
            "Flatten" => nn.Flatten(),
            "Dropout" => nn.Dropout(Double(a, "p")),
            _ => throw new NotSupportedException($"Module '{module.Name}': TorchSharp has no builder here for torch.nn.{module.Kind}."),
        };
    }

    // Numbers are read through their JSON text: a node built from an int does not convert to long by GetValue.
    static long Long(JsonObject args, string key) => Long(args[key]);
    static double Double(JsonObject args, string key) => double.Parse(Required(args[key]).ToJsonString(), CultureInfo.InvariantCulture);
    static bool Bool(JsonObject args, string key) => Required(args[key]).GetValue<bool>();
    static (long, long) Pair(JsonObject args, string key) => Required(args[key]).AsArray() is [var first, var second]
        ? (Long(first), Long(second)) : throw new ArgumentException($"'{key}' is not a pair.");
    static (long, long, long, long) Quad(JsonObject args, string key) => Required(args[key]).AsArray() is [var left, var right, var top, var bottom]
        ? (Long(left), Long(right), Long(top), Long(bottom)) : throw new ArgumentException($"'{key}' is not four numbers.");
    static long Long(JsonNode? node) => long.Parse(Required(node).ToJsonString(), CultureInfo.InvariantCulture);
    static JsonNode Required(JsonNode? node) => node ?? throw new ArgumentException("A module argument is missing.");
}
