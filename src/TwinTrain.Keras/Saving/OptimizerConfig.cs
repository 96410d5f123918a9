using System.Text.Json;
using System.Text.Json.Nodes;
using TwinTrain.Keras.Optimizers;

namespace TwinTrain.Keras.Saving;

/// <summary>
/// An optimizer from its Keras config (a `.keras` file's compile_config, or TwinTrain's older model files): the class,
/// the settings each has (Keras's defaults for any left out), and a refusal naming any setting this framework does
/// not implement at a value other than its default.
/// </summary>
internal static class OptimizerConfig
{
    public static Optimizer Create(string? className, JsonNode? c, Func<string, Exception> bad)
    {
        double Number(string key, double fallback) => c?[key] is JsonNode n ? (double)n : fallback;
        double? Optional(string key) => c?[key] is JsonNode n && n.GetValueKind() != JsonValueKind.Null ? (double)n : null;
        bool Flag(string key) => c?[key] is JsonNode n && n.GetValueKind() != JsonValueKind.Null && (bool)n;
        foreach (string unsupported in new[] { "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps" })
            if (c?[unsupported] is JsonNode n && n.GetValueKind() != JsonValueKind.Null)
                throw bad($"the optimizer's '{unsupported}' ({n.ToJsonString()}) is not supported here");
        if (Flag("use_ema")) throw bad("the optimizer's 'use_ema' is not supported here");
        double lr = Number("learning_rate", 0.001);
        return className?.ToLowerInvariant() switch
        {
            "adam" => new Adam(lr, Number("beta_1", 0.9), Number("beta_2", 0.999), Number("epsilon", 1e-7), Flag("amsgrad")) { WeightDecay = Optional("weight_decay"), ClipValue = Optional("clipvalue"), ClipNorm = Optional("clipnorm"), GlobalClipNorm = Optional("global_clipnorm"), EpsilonAfterBiasCorrection = Flag("epsilon_after_bias_correction") },
            "adamw" => new AdamW(lr, Optional("weight_decay") ?? 0.004, Number("beta_1", 0.9), Number("beta_2", 0.999), Number("epsilon", 1e-7), Flag("amsgrad")) { ClipValue = Optional("clipvalue"), ClipNorm = Optional("clipnorm"), GlobalClipNorm = Optional("global_clipnorm") },
            "rmsprop" => new RMSprop(lr, Number("rho", 0.9), Number("momentum", 0), Number("epsilon", 1e-7), Flag("centered")) { WeightDecay = Optional("weight_decay"), ClipValue = Optional("clipvalue"), ClipNorm = Optional("clipnorm"), GlobalClipNorm = Optional("global_clipnorm") },
            "sgd" => new SGD(Number("learning_rate", 0.01), Number("momentum", 0), Flag("nesterov")) { WeightDecay = Optional("weight_decay"), ClipValue = Optional("clipvalue"), ClipNorm = Optional("clipnorm"), GlobalClipNorm = Optional("global_clipnorm") },
            var other => throw bad($"the optimizer '{other}' is not supported here (Adam, AdamW, RMSprop, SGD)"),
        };
    }
}
