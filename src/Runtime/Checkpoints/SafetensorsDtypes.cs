using static TorchSharp.torch;

namespace MambaGen.Checkpoints;

/// <summary>The safetensors element types this runtime reads: weights in F32/F16/BF16, token ids in I64/I32.</summary>
internal static class SafetensorsDtypes
{
    public const string Supported = "F32, F16, BF16, I64, I32";

    public static bool TryParse(string name, out ScalarType dtype, out int itemSize)
    {
        (dtype, itemSize) = name switch
        {
            "F32" => (ScalarType.Float32, 4),
            "F16" => (ScalarType.Float16, 2),
            "BF16" => (ScalarType.BFloat16, 2),
            "I64" => (ScalarType.Int64, 8),
            "I32" => (ScalarType.Int32, 4),
            _ => (ScalarType.Float32, 0),
        };
        return itemSize != 0;
    }

    public static bool IsFloating(ScalarType dtype) =>
        dtype is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;
}
