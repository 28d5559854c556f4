using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cuda;

/// <summary>
/// Where the fused kernels' tensors live and the stream they are launched on: a CUDA device and libtorch's current
/// stream there, or (tests only) CPU tensors run by the kernel emulator, which has no streams.
/// </summary>
internal sealed class KernelTarget
{
    private readonly Func<IntPtr> _stream;

    private KernelTarget(DeviceType type, int index, Func<IntPtr> stream, string description)
    {
        (Type, Index, _stream, Description) = (type, index, stream, description);
    }

    public DeviceType Type { get; }

    public int Index { get; }

    public string Description { get; }

    public static KernelTarget Cuda(int device) => new(DeviceType.CUDA, device, () => TorchCuda.CurrentStream(device), $"CUDA device {device}");

    /// <summary>CPU tensors, for a driver that runs kernels on the host (the test suite's emulator).</summary>
    internal static KernelTarget HostEmulation { get; } = new(DeviceType.CPU, -1, () => IntPtr.Zero, "the CPU (kernel emulator)");

    public IntPtr Stream() => _stream();

    public bool Holds(Tensor tensor) => tensor.device_type == Type && (Type != DeviceType.CUDA || tensor.device_index == Index);

    public override string ToString() => Description;
}
