using System.Globalization;
using System.Text.Json.Nodes;
using TwinTrain.Keras;
using TwinTrain.Keras.Layers;
using static TwinTrain.Experiment.Invariant;

namespace TwinTrain.Experiment.Architectures;

/// <summary>One setting the PyTorch-style model spells differently from the Keras config, or a default the frameworks differ on.</summary>
public sealed record Translation(string Layer, string Setting, string Keras, string PyTorch, string Note);

/// <summary>A Keras weight's place in the torch module's state_dict: its key, torch shape, and the map from Keras index to torch index (null: same order).</summary>
public sealed record TorchTensor(string Key, int KerasWeight, long[] Shape, int[]? Order);

/// <summary>One module of the torch Sequential: its name, how PyTorch would print it, and the torch.nn class with its
/// keyword arguments, from which each PyTorch-style framework builds it (TorchSharp in its own room, a worker's real
/// PyTorch as docs/worker-protocol.md says), and the Keras layer it computes (a layer may take several modules:
/// Conv2d and its ReLU).</summary>
public sealed record TorchModule(string Name, string Repr, string Kind, JsonObject Args, string KerasLayer);

/// <summary>
/// The Keras-style model translated into the torch.nn modules a PyTorch user would write for it (Conv2d,
/// BatchNorm2d, ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Linear, Dropout in an nn.Sequential, each
/// with PyTorch's own default initialisation), with every Keras weight's state_dict key and layout, and every setting
/// translated on the way. Modules are named after the Keras layers; the study's CNN keeps the study's names
/// (conv1, conv2, fc1, fc2), so a Python user's state_dict of it loads.
/// </summary>
public sealed class TorchTranslation
{
    static readonly Dictionary<string, string> StudyNames = new() { ["conv2d"] = "conv1", ["conv2d_1"] = "conv2", ["dense"] = "fc1", ["dense_1"] = "fc2" };

    readonly List<TorchModule> _modules = [];
    readonly Dictionary<string, string> _kerasLayerOf = [];
    readonly List<TorchTensor> _tensors = [];
    readonly List<Translation> _notes = [];
    string _layer = "";
    readonly List<int[]?> _flatOrders = [];

    public TorchTranslation(Sequential keras, bool studyNames)
    {
        int weight = 0;
        // Where a flat activation came from a Flatten of (h, w, c): Keras index j is torch index perm[j].
        int[]? permutation = null;
        for (int l = 0; l < keras.Layers.Count; l++)
        {
            var layer = keras.Layers[l];
            bool last = l == keras.Layers.Count - 1;
            string name = studyNames ? StudyNames.GetValueOrDefault(layer.Name, layer.Name) : layer.Name;
            _kerasLayerOf[name] = layer.Name;
            _layer = layer.Name;
            _flatOrders.Add(permutation);
            switch (layer)
            {
                case Conv2D conv:
                {
                    var (kh, kw, cin, cout) = (conv.KernelSize.Height, conv.KernelSize.Width, layer.InputShape[2], conv.Filters);
                    var (padH, padW, symmetric) = ConvPadding(conv);
                    if (!symmetric)
                    {
                        var (top, left, bottom, right) = SamePads(layer.InputShape, conv.KernelSize, conv.Strides);
                        Add(name + "_pad", $"ZeroPad2d(({left}, {right}, {top}, {bottom}))",
                            "ZeroPad2d", new() { ["padding"] = Ints(left, right, top, bottom) });
                        Note(layer, "padding", "'same'", $"ZeroPad2d(({left}, {right}, {top}, {bottom})) then padding=0",
                            "TensorFlow puts the odd row and column of 'same' padding after; PyTorch's padding is symmetric.");
                    }
                    else if (conv.Padding == "same")
                        Note(layer, "padding", "'same'", $"padding=({padH}, {padW})", "symmetric here, so PyTorch's padding gives the same output.");
                    (long, long) stride = (conv.Strides.Height, conv.Strides.Width);
                    bool bias = conv.UseBias;
                    Add(name, F($"Conv2d({cin}, {cout}, kernel_size=({kh}, {kw}), stride=({stride.Item1}, {stride.Item2}), padding=({padH}, {padW}){(bias ? "" : ", bias=False")})"),
                        "Conv2d", new() { ["in_channels"] = cin, ["out_channels"] = cout, ["kernel_size"] = Ints(kh, kw), ["stride"] = Ints(conv.Strides.Height, conv.Strides.Width),
                            ["padding"] = Ints(padH, padW), ["bias"] = bias });
                    Tensor(name + ".weight", weight++, [cout, cin, kh, kw], ConvOrder(kh, kw, cin, cout));
                    if (bias) Tensor(name + ".bias", weight++, [cout], null);
                    Activate(layer, name, conv.Activation, last);
                    permutation = null;
                    break;
                }
                case Dense dense:
                {
                    int inputs = layer.InputShape[0], units = dense.Units;
                    bool bias = dense.UseBias;
                    Add(name, $"Linear(in_features={inputs}, out_features={units}, bias={(bias ? "True" : "False")})",
                        "Linear", new() { ["in_features"] = inputs, ["out_features"] = units, ["bias"] = bias });
                    Tensor(name + ".weight", weight++, [units, inputs], DenseOrder(inputs, units, permutation));
                    if (bias) Tensor(name + ".bias", weight++, [units], null);
                    if (permutation is not null)
                        Note(layer, "input order", "(h, w, c) flattened", "(c, h, w) flattened", "the weight's columns are permuted on conversion.");
                    Activate(layer, name, dense.Activation, last);
                    permutation = null;
                    break;
                }
                case BatchNormalization bn:
                {
                    if (bn.Center != bn.Scale)
                        throw new NotSupportedException($"Layer '{layer.Name}' (BatchNormalization): center={bn.Center} with scale={bn.Scale} has no PyTorch equivalent (affine is both or neither).");
                    int c = bn.Channels;
                    // In decimal, so that Keras's 0.99 is PyTorch's 0.01 and not 0.010000000000000009.
                    double momentum = (double)(1m - (decimal)bn.Momentum);
                    bool affine = bn.Scale, image = layer.InputShape.Length == 3;
                    string kind = image ? "BatchNorm2d" : "BatchNorm1d";
                    Add(name, F($"{kind}({c}, eps={bn.Epsilon:R}, momentum={momentum:R}, affine={(affine ? "True" : "False")}, track_running_stats=True)"),
                        kind, new() { ["num_features"] = c, ["eps"] = bn.Epsilon, ["momentum"] = momentum, ["affine"] = affine });
                    if (affine)
                    {
                        Tensor(name + ".weight", weight++, [c], permutation);
                        Tensor(name + ".bias", weight++, [c], permutation);
                    }
                    Tensor(name + ".running_mean", weight++, [c], permutation);
                    Tensor(name + ".running_var", weight++, [c], permutation);
                    Note(layer, "momentum", F($"{bn.Momentum:R} (moving = moving * m + batch * (1 - m))"), F($"{momentum:R} (running = (1 - m) * running + m * batch)"),
                        F($"the same update, spelled the other way round; PyTorch's own default is {Architecture.PyTorchBatchNormMomentum:R}, which the PyTorch side uses unless --align bn."));
                    Note(layer, "epsilon", F($"{bn.Epsilon:R}"), F($"{bn.Epsilon:R}"), F($"PyTorch's own default is {Architecture.PyTorchBatchNormEpsilon:R}, which the PyTorch side uses unless --align bn."));
                    Note(layer, "moving variance", "biased batch variance", "unbiased batch variance (n / (n - 1))", "a default that differs: the inference-time variance differs by n / (n - 1).");
                    break;
                }
                case ActivationLayer activation:
                    Activate(layer, name, activation.Function, last, separate: true);
                    break;
                case MaxPooling2D pool:
                {
                    var (padding, ceil) = PoolPadding(pool);
                    (long, long) kernel = (pool.PoolSize.Height, pool.PoolSize.Width), stride = (pool.Strides.Height, pool.Strides.Width);
                    Add(name, F($"MaxPool2d(kernel_size={Tuple(kernel)}, stride={Tuple(stride)}, padding={Tuple(padding)}, ceil_mode={(ceil ? "True" : "False")})"),
                        "MaxPool2d", PoolArgs(kernel, stride, padding, ceil));
                    PoolNote(pool, padding, ceil);
                    break;
                }
                case AveragePooling2D pool:
                {
                    var (padding, ceil) = PoolPadding(pool);
                    (long, long) kernel = (pool.PoolSize.Height, pool.PoolSize.Width), stride = (pool.Strides.Height, pool.Strides.Width);
                    Add(name, F($"AvgPool2d(kernel_size={Tuple(kernel)}, stride={Tuple(stride)}, padding={Tuple(padding)}, ceil_mode={(ceil ? "True" : "False")}, count_include_pad=False)"),
                        "AvgPool2d", PoolArgs(kernel, stride, padding, ceil, countIncludePad: false));
                    PoolNote(pool, padding, ceil);
                    break;
                }
                case GlobalAveragePooling2D:
                    Add(name, "AdaptiveAvgPool2d(output_size=1)", "AdaptiveAvgPool2d", new() { ["output_size"] = 1 });
                    Add(name + "_flatten", "Flatten(start_dim=1, end_dim=-1)", "Flatten", []);
                    break;
                case Flatten:
                    Add(name, "Flatten(start_dim=1, end_dim=-1)", "Flatten", []);
                    if (layer.InputShape is [int height, int width, int channels]) permutation = FlattenOrder(height, width, channels);
                    break;
                case Dropout dropout:
                    Add(name, F($"Dropout(p={dropout.Rate:R}, inplace=False)"), "Dropout", new() { ["p"] = dropout.Rate });
                    Note(layer, "mask", "drawn from TwinTrain's seed", "drawn from torch.manual_seed", "each framework draws its own random masks.");
                    break;
                default:
                    throw new NotSupportedException($"Layer '{layer.Name}' ({layer.GetType().Name}) has no PyTorch translation.");
            }
        }
        _flatOrders.Add(permutation);
        if (weight != keras.Weights.Count) throw new InvalidOperationException($"The translation maps {weight} of the model's {keras.Weights.Count} weights.");
    }

    public IReadOnlyList<TorchModule> Modules => _modules;
    /// <summary>Every Keras weight, in Keras's order (which is also the torch parameters' and buffers' order).</summary>
    public IReadOnlyList<TorchTensor> Tensors => _tensors;
    public IReadOnlyList<Translation> Notes => _notes;

    /// <summary>
    /// Where Keras layer <paramref name="layer"/>'s input (or, for the layer count, the network's output) is flat in
    /// PyTorch's (c, h, w) order after a Flatten: for each Keras index the torch index; null where the orders agree.
    /// </summary>
    public int[]? FlatOrder(int layer) => _flatOrders[layer];

    /// <summary>The Keras layer a module was translated from (its own name for added modules).</summary>
    public string KerasLayerOf(string moduleName) => _kerasLayerOf.GetValueOrDefault(moduleName, moduleName);

    /// <summary>How PyTorch would print the module.</summary>
    public string Repr => "Sequential(\n" + string.Concat(_modules.Select(m => $"  ({m.Name}): {m.Repr}\n")) + ")";

    void Add(string name, string repr, string kind, JsonObject args) => _modules.Add(new TorchModule(name, repr, kind, args, _layer));

    static JsonArray Ints(params long[] values) => [.. values.Select(v => (JsonNode)v)];

    static JsonObject PoolArgs((long, long) kernel, (long, long) stride, (long, long) padding, bool ceil, bool? countIncludePad = null)
    {
        var args = new JsonObject
        {
            ["kernel_size"] = Ints(kernel.Item1, kernel.Item2), ["stride"] = Ints(stride.Item1, stride.Item2),
            ["padding"] = Ints(padding.Item1, padding.Item2), ["ceil_mode"] = ceil,
        };
        if (countIncludePad is bool include) args["count_include_pad"] = include;
        return args;
    }

    /// <summary>The modules as docs/worker-protocol.md's build request lists them: name, torch.nn kind and keyword arguments.</summary>
    public JsonArray ModuleSpecs() => [.. _modules.Select(m => (JsonNode)new JsonObject { ["name"] = m.Name, ["kind"] = m.Kind, ["args"] = m.Args.DeepClone() })];

    void Tensor(string key, int kerasWeight, long[] shape, int[]? order) => _tensors.Add(new TorchTensor(key, kerasWeight, shape, order));

    void Note(Layer layer, string setting, string keras, string pytorch, string note) => _notes.Add(new Translation(layer.Name, setting, keras, pytorch, note));

    void Activate(Layer layer, string name, Activation activation, bool last, bool separate = false)
    {
        switch (activation)
        {
            case Activation.Relu:
                Add(separate ? name : name + "_relu", "ReLU()", "ReLU", []);
                break;
            case Activation.Softmax when last:
                // A PyTorch model gives logits; CrossEntropyLoss applies log-softmax (Keras fuses softmax and cross-entropy the same way).
                if (separate) Add(name, "Identity()", "Identity", []);
                Note(layer, "activation", "softmax (probabilities)", "none: logits into CrossEntropyLoss", "the same loss; softmax applied for predictions.");
                break;
            case Activation.Softmax:
                Add(separate ? name : name + "_softmax", "Softmax(dim=1)", "Softmax", new() { ["dim"] = 1 });
                break;
            default:
                if (separate) Add(name, "Identity()", "Identity", []);
                break;
        }
    }

    /// <summary>Padding per side for Conv2d, and whether PyTorch's symmetric padding can express Keras's.</summary>
    static (int Height, int Width, bool Symmetric) ConvPadding(Conv2D conv)
    {
        if (conv.Padding != "same") return (0, 0, true);
        var (top, left, bottom, right) = SamePads(conv.InputShape, conv.KernelSize, conv.Strides);
        return top == bottom && left == right ? (top, left, true) : (0, 0, false);
    }

    /// <summary>TensorFlow's 'same' padding per side: (top, left, bottom, right), the odd one after (Keras's own arithmetic).</summary>
    public static (int Top, int Left, int Bottom, int Right) SamePads(int[] inputShape, (int Height, int Width) kernel, (int Height, int Width) strides)
    {
        var (_, top, bottom) = Keras.Layers.Padding.Sides(inputShape[0], kernel.Height, strides.Height, same: true);
        var (_, left, right) = Keras.Layers.Padding.Sides(inputShape[1], kernel.Width, strides.Width, same: true);
        return (top, left, bottom, right);
    }

    /// <summary>
    /// PyTorch pooling padding for Keras's: 'same' pads the odd row and column after, which PyTorch gets from padding
    /// the rest symmetrically and ceil_mode (windows past the end, over what is inside).
    /// </summary>
    static ((long, long) Padding, bool CeilMode) PoolPadding(Pooling2D pool)
    {
        if (pool.Padding != "same") return ((0, 0), false);
        var (top, left, bottom, right) = SamePads(pool.InputShape, pool.PoolSize, pool.Strides);
        bool ceil = bottom > top || right > left;
        // PyTorch's output size with padding p and ceil_mode must be Keras's.
        long Output(int input, int k, int s, int p) => ceil ? (input + 2 * p - k + s - 1) / s + 1 : (input + 2 * p - k) / s + 1;
        if (Output(pool.InputShape[0], pool.PoolSize.Height, pool.Strides.Height, top) != pool.OutputShape[0]
            || Output(pool.InputShape[1], pool.PoolSize.Width, pool.Strides.Width, left) != pool.OutputShape[1]
            || 2 * top > pool.PoolSize.Height || 2 * left > pool.PoolSize.Width)
            throw new NotSupportedException($"Layer '{pool.Name}': 'same' pooling of {Keras.Layers.Layer.Format(pool.InputShape)} with pool {pool.PoolSize} and strides {pool.Strides} has no PyTorch equivalent.");
        return ((top, left), ceil);
    }

    void PoolNote(Pooling2D pool, (long, long) padding, bool ceil)
    {
        if (pool.Padding == "same")
            Note(pool, "padding", "'same'", F($"padding={Tuple(padding)}, ceil_mode={(ceil ? "True" : "False")}"), "windows past the edge pool only what lies inside, in both.");
    }

    static string Tuple((long, long) t) => $"({t.Item1}, {t.Item2})";

    /// <summary>For each Keras conv-kernel index ((ky, kx, in, out) order), the torch index ((out, in, ky, kx) order).</summary>
    static int[] ConvOrder(int kh, int kw, int cin, int cout)
    {
        var order = new int[kh * kw * cin * cout];
        for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
                for (int i = 0; i < cin; i++)
                    for (int o = 0; o < cout; o++)
                        order[((y * kw + x) * cin + i) * cout + o] = ((o * cin + i) * kh + y) * kw + x;
        return order;
    }

    /// <summary>Keras flattens (h, w, c), PyTorch (c, h, w): Keras's element h*W*C + w*C + c is torch's c*H*W + h*W + w.</summary>
    static int[] FlattenOrder(int height, int width, int channels)
    {
        var order = new int[height * width * channels];
        for (int j = 0; j < order.Length; j++)
        {
            int h = j / (width * channels), w = j / channels % width, c = j % channels;
            order[j] = (c * height + h) * width + w;
        }
        return order;
    }

    /// <summary>For each Keras dense-kernel index ((in, out) order), the torch index ((out, in) order), inputs permuted as flattened.</summary>
    static int[] DenseOrder(int inputs, int units, int[]? inputOrder)
    {
        var order = new int[inputs * units];
        for (int j = 0; j < inputs; j++)
        {
            int torchInput = inputOrder?[j] ?? j;
            for (int u = 0; u < units; u++) order[j * units + u] = u * inputs + torchInput;
        }
        return order;
    }
}
