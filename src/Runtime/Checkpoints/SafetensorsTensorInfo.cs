using System;
using System.Linq;
using static TorchSharp.torch;

namespace MambaGen.Checkpoints;

/// <summary>One tensor's entry in a safetensors header, already checked against the file.</summary>
/// <param name="File">Path of the safetensors file holding the tensor.</param>
/// <param name="Name">The tensor's key, e.g. <c>backbone.layers.0.mixer.in_proj.weight</c>.</param>
/// <param name="Dtype">The element type as TorchSharp names it.</param>
/// <param name="SafetensorsDtype">The element type as the header spells it (F32, BF16...).</param>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="DataBegin">Offset of the first byte, counted from the start of the data section.</param>
/// <param name="DataEnd">Offset one past the last byte, counted from the start of the data section.</param>
public sealed record SafetensorsTensorInfo(
    string File, string Name, ScalarType Dtype, string SafetensorsDtype, long[] Shape, long DataBegin, long DataEnd)
{
    public long ByteLength => DataEnd - DataBegin;

    public string ShapeText => FormatShape(Shape);

    internal static string FormatShape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    public bool Equals(SafetensorsTensorInfo? other) =>
        other is not null && File == other.File && Name == other.Name && Dtype == other.Dtype &&
        Shape.SequenceEqual(other.Shape) && DataBegin == other.DataBegin && DataEnd == other.DataEnd;

    public override int GetHashCode() => HashCode.Combine(File, Name, DataBegin);
}
