using System.Runtime.CompilerServices;

namespace TwinTrain.Cli.Tests;

/// <summary>The program's frameworks, registered before any test runs (tests also load models without the command tree).</summary>
static class RegisteredFrameworks
{
#pragma warning disable CA2255 // a test assembly is this library's only host: its module initializer is the program's registration
    [ModuleInitializer]
    internal static void Register() => InstalledFrameworks.Register();
#pragma warning restore CA2255
}
