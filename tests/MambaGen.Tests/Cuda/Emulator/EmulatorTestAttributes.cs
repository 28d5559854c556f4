using System;
using Xunit;

namespace MambaGen.Tests.Cuda.Emulator;

/// <summary>
/// Tests that run kernels under the emulator need clang++-14 (Debian: <c>apt-get install -y clang-14</c>; .ci/run
/// installs it). Without it they fail and say so; <see cref="OptOutVariable"/>=1 skips them instead.
/// </summary>
internal static class EmulatorTests
{
    public const string OptOutVariable = "MAMBAGEN_SKIP_KERNEL_EMULATOR";

    public static string? SkipReason => Environment.GetEnvironmentVariable(OptOutVariable) == "1"
        ? $"{OptOutVariable}=1: the CUDA kernels' checks under the CPU emulator are opted out."
        : null;
}

/// <summary>A fact that runs kernels under the emulator (see <see cref="EmulatorTests"/>).</summary>
public sealed class EmulatorFactAttribute : FactAttribute
{
    public EmulatorFactAttribute()
    {
        Skip = EmulatorTests.SkipReason;
    }
}

/// <summary>A theory that runs kernels under the emulator (see <see cref="EmulatorTests"/>).</summary>
public sealed class EmulatorTheoryAttribute : TheoryAttribute
{
    public EmulatorTheoryAttribute()
    {
        Skip = EmulatorTests.SkipReason;
    }
}
