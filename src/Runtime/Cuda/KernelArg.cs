using System;
using TorchSharp;

namespace MambaGen.Cuda;

/// <summary>
/// One kernel argument: its kind (checked against the entry's <see cref="KernelSpec"/> at launch) and its value. A
/// 16-byte value type, so a launch's arguments live on the stack.
/// </summary>
public readonly struct KernelArg
{
    private readonly long _bits;

    private KernelArg(KernelParam kind, long bits)
    {
        Kind = kind;
        _bits = bits;
    }

    public KernelParam Kind { get; }

    /// <summary>The value as the kernel reads it: 8 bytes for Ptr/I64, the low 4 for I32/F32.</summary>
    internal long Bits => _bits;

    /// <summary>A device pointer (zero is allowed: kernels take null for optional inputs).</summary>
    public static KernelArg Ptr(IntPtr pointer) => new(KernelParam.Ptr, pointer.ToInt64());

    public static KernelArg I32(int value) => new(KernelParam.I32, (uint)value);

    public static KernelArg I64(long value) => new(KernelParam.I64, value);

    public static KernelArg F32(float value) => new(KernelParam.F32, (uint)BitConverter.SingleToInt32Bits(value));

    /// <summary>The device pointer of a CUDA tensor's first element (storage offset included, any dtype).</summary>
    public static KernelArg Of(torch.Tensor tensor) => Ptr(TorchCuda.DataPtr(tensor));

    /// <summary>A tensor's pointer, or null when there is no tensor (an optional kernel input).</summary>
    public static KernelArg OfOptional(torch.Tensor? tensor) => tensor is null ? Ptr(IntPtr.Zero) : Of(tensor);

    public override string ToString() => Kind switch
    {
        KernelParam.Ptr => $"Ptr(0x{_bits:x})",
        KernelParam.I32 => $"I32({(int)_bits})",
        KernelParam.I64 => $"I64({_bits})",
        KernelParam.F32 => $"F32({BitConverter.Int32BitsToSingle((int)_bits)})",
        _ => $"{Kind}({_bits})",
    };
}
