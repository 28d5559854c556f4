using System;
using System.Collections.Concurrent;
using MambaGen.Cuda;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Backends;

/// <summary>
/// Which op implementations the layers on a device call: the fused CUDA kernels where the driver, a compiler or the
/// build's PTX, and libtorch's stream are all there; the reference TorchSharp ops everywhere else, with the reason.
/// Decided once per device and process. <c>MAMBAGEN_FAST_PATH=0</c> turns the kernels off.
/// </summary>
public static class OpsSelection
{
    /// <summary>The environment variable that turns the fused kernels off when set to 0, false or off.</summary>
    public const string FastPathVariable = "MAMBAGEN_FAST_PATH";

    private static readonly ConcurrentDictionary<string, (MambaOps Ops, string Why)> Chosen = new();

    /// <summary>Where the selection's reasons go (e.g. a logger); nothing by default.</summary>
    public static Action<string>? Log { get; set; }

    /// <summary>The op set for <paramref name="device"/>.</summary>
    public static MambaOps For(Device device) => Choose(device).Ops;

    /// <summary>Which path <paramref name="device"/> takes and why, e.g. "fused CUDA kernels (sm_90 CUBIN from NVRTC 13.0)".</summary>
    public static string Describe(Device device)
    {
        var (ops, why) = Choose(device);
        return $"{ops.Name} ({why})";
    }

    private static (MambaOps Ops, string Why) Choose(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Chosen.GetOrAdd(device.ToString(), _ =>
        {
            var choice = device.type switch
            {
                DeviceType.CUDA => ChooseCuda(device.index < 0 ? 0 : device.index),
                DeviceType.CPU => ChooseCpu(),
                _ => (MambaOps.Reference, $"device {device}"),
            };
            Log?.Invoke($"MambaGen ops on {device}: {choice.Item1.Name} ({choice.Item2})");
            return choice;
        });
    }

    /// <summary>The setting of <see cref="FastPathVariable"/> when it turns the fused paths off; null otherwise.</summary>
    private static string? FastPathOff() => Config.EnvironmentSwitch.OffValue(FastPathVariable);

    private static (MambaOps, string) ChooseCpu()
    {
        if (FastPathOff() is { } setting)
        {
            return (MambaOps.Reference, $"device cpu, fused decode off: {FastPathVariable}={setting}");
        }

        // As many threads as TorchSharp's ops use (the CLI's --threads), never more than the cores.
        int threads = Math.Clamp(torch.get_num_threads(), 1, Environment.ProcessorCount);
        var loops = new Cpu.CpuDecodeOps(threads);
        return (MambaOps.Of(Cpu.CpuDecodeOps.Name, loops), $"device cpu, {threads} thread(s)");
    }

    private static (MambaOps, string) ChooseCuda(int index)
    {
        if (FastPathOff() is { } setting)
        {
            return (MambaOps.Reference, $"fused kernels off: {FastPathVariable}={setting}");
        }

        try
        {
            var runtime = CudaRuntime.TryCreate(index, Log, out var reason);
            if (runtime is null)
            {
                return (MambaOps.Reference, "fused kernels unavailable: " + reason);
            }

            var choices = KernelChoices.FromEnvironment();
            var kernels = CudaMambaOps.TryCreate(runtime, index, choices, out reason);
            if (kernels is null)
            {
                return (MambaOps.Reference, "fused kernels unavailable: " + reason);
            }

            return (MambaOps.Of("fused CUDA kernels", kernels), $"{runtime.Describe()}; {choices}");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or CudaException or NvrtcException or InvalidOperationException)
        {
            return (MambaOps.Reference, $"fused kernels unavailable: {e.GetType().Name}: {e.Message}");
        }
    }
}
