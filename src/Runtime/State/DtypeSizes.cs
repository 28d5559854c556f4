using System;
using static TorchSharp.torch;

namespace MambaGen;

/// <summary>Bytes per element of a dtype, without touching the native library.</summary>
public static class DtypeSizes
{
    public static int ItemSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Bool or ScalarType.Byte or ScalarType.Int8 => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "MambaGen has no item size for this dtype."),
    };
}
