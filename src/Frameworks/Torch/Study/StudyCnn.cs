using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TwinTrain.Frameworks.Torch.Study;

/// <summary>The study's CNN, written the way a PyTorch user writes it: layers as fields and an explicit forward.</summary>
public sealed class StudyCnn : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1 = Conv2d(3, 32, kernel_size: 3);
    private readonly Conv2d conv2 = Conv2d(32, 64, kernel_size: 3);
    private readonly MaxPool2d pool = MaxPool2d(kernel_size: 2);
    private readonly Linear fc1 = Linear(64 * 6 * 6, 64);
    private readonly Linear fc2 = Linear(64, 10);

    public StudyCnn() : base(nameof(StudyCnn))
    {
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = pool.call(functional.relu(conv1.call(x)));
        x = pool.call(functional.relu(conv2.call(x)));
        x = x.flatten(1);
        x = functional.relu(fc1.call(x));
        return fc2.call(x);
    }
}
