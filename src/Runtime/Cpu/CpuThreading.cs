using System;
using System.Runtime.InteropServices;

namespace MambaGen.Cpu;

/// <summary>
/// How MambaGen wants libtorch's OpenMP threads to wait on the CPU. After each parallel op libgomp's idle threads spin
/// for about 300,000 iterations by default, holding the cores that MambaGen's own decode threads need next: on a
/// 2-core machine a 768x8 model decoded at 2 threads no faster than at 1 (107-111 tokens/s) with the default, and at
/// 141-175 tokens/s with <c>GOMP_SPINCOUNT=10000</c>, prefill unchanged within the noise. libgomp reads the variable
/// once, when libtorch is loaded, so <see cref="PreferShortSpin"/> must run before the first TorchSharp call: the
/// <c>mambagen</c> CLI and the benches call it first thing; an application calls it at its start.
/// </summary>
public static class CpuThreading
{
    public const string SpinCountVariable = "GOMP_SPINCOUNT";
    public const string SpinCount = "10000";

    /// <summary>
    /// Sets <c>GOMP_SPINCOUNT=10000</c> in the process environment unless the user set it or <c>OMP_WAIT_POLICY</c>
    /// (their choice stands); Linux only (libgomp). Returns whether it was set. Too late once libtorch is loaded.
    /// </summary>
    public static bool PreferShortSpin()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(SpinCountVariable) is not null
            || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null)
        {
            return false;
        }

        // .NET's own environment is a copy: libgomp reads the C library's, so set it there too.
        Environment.SetEnvironmentVariable(SpinCountVariable, SpinCount);
        try
        {
            return setenv(SpinCountVariable, SpinCount, 0) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int setenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
