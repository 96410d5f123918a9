using System.Runtime.CompilerServices;
using TwinTrain.Experiment.Frameworks;
using TwinTrain.Frameworks.Keras;
using TwinTrain.Frameworks.Torch;

namespace TwinTrain.Experiment.Tests;

/// <summary>The frameworks these tests train with, registered as the program registers its own, before any test runs.</summary>
static class RegisteredFrameworks
{
#pragma warning disable CA2255 // a test assembly is this library's only host: its module initializer is the program's registration
    [ModuleInitializer]
    internal static void Register() => FrameworkCatalog.Register(new KerasProvider(), new TorchProvider(), TorchProvider.Tuned);
#pragma warning restore CA2255
}
