using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace MambaGen.CpuBench.Gguf;

/// <summary>GGUF metadata value types (the numbering of the format, version 3).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>The ggml tensor types this writer produces (ggml's numbering).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    BF16 = 30,
}

/// <summary>llama.cpp's <c>general.file_type</c> values for the unquantized files written here.</summary>
public enum GgufFileType : uint
{
    AllF32 = 0,
    MostlyF16 = 1,
    MostlyBF16 = 32,
}

/// <summary>One metadata entry: a key, its type, and the value (for arrays, the element type and a list).</summary>
public sealed record GgufKv(string Key, GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8);

/// <summary>One tensor to write: its name, its shape in row-major (numpy / torch) order, its ggml type and data as fp32.</summary>
/// <remarks>GGUF stores dimensions fastest-first (ggml's ne[0] is the last numpy dimension); the writer reverses them.</remarks>
public sealed record GgufTensor(string Name, long[] Shape, GgmlType Type, float[] Data);

/// <summary>
/// Writes a GGUF version 3 file: the header (magic, version, tensor and metadata counts), the metadata, the tensor
/// infos, padding to <c>general.alignment</c> (32 unless set), then each tensor's data at an aligned offset.
/// All numbers are little-endian.
/// </summary>
public static class GgufWriter
{
    public const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    public const uint Version = 3;
    public const int DefaultAlignment = 32;

    public static void Write(string path, IReadOnlyList<GgufKv> metadata, IReadOnlyList<GgufTensor> tensors)
    {
        int alignment = DefaultAlignment;
        foreach (var kv in metadata)
            if (kv.Key == "general.alignment") alignment = Convert.ToInt32(kv.Value, System.Globalization.CultureInfo.InvariantCulture);

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)metadata.Count);
        foreach (var kv in metadata)
        {
            WriteString(w, kv.Key);
            w.Write((uint)kv.Type);
            WriteValue(w, kv.Type, kv.Value, kv.ElementType);
        }

        long offset = 0;
        var offsets = new long[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            long count = 1;
            foreach (var d in t.Shape) count *= d;
            if (count != t.Data.Length) throw new ArgumentException($"{t.Name}: shape [{string.Join(", ", t.Shape)}] holds {count} values, data has {t.Data.Length}.");
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            for (int d = t.Shape.Length - 1; d >= 0; d--) w.Write((ulong)t.Shape[d]);
            w.Write((uint)t.Type);
            offsets[i] = offset;
            w.Write((ulong)offset);
            offset = Align(offset + count * ElementSize(t.Type), alignment);
        }

        w.Flush();
        Pad(w, alignment);
        long dataStart = stream.Position;
        for (int i = 0; i < tensors.Count; i++)
        {
            Pad(w, alignment, dataStart + offsets[i]);
            WriteData(w, tensors[i]);
        }

        Pad(w, alignment);
    }

    public static int ElementSize(GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 => 2,
        GgmlType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static long Align(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    /// <summary>fp32 to bf16 rounding to nearest even, NaN kept a quiet NaN (as gguf-py's converter does).</summary>
    public static ushort ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7fffffffu) > 0x7f800000u) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
    }

    public static float FromBf16(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    private static void WriteData(BinaryWriter w, GgufTensor t)
    {
        var bytes = new byte[t.Data.Length * ElementSize(t.Type)];
        var span = bytes.AsSpan();
        for (int i = 0; i < t.Data.Length; i++)
        {
            switch (t.Type)
            {
                case GgmlType.F32:
                    System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(span[(4 * i)..], t.Data[i]);
                    break;
                case GgmlType.F16:
                    System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(span[(2 * i)..], (Half)t.Data[i]);
                    break;
                case GgmlType.BF16:
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], ToBf16(t.Data[i]));
                    break;
            }
        }

        w.Write(bytes);
    }

    private static void Pad(BinaryWriter w, int alignment, long? target = null)
    {
        w.Flush();
        long pos = w.BaseStream.Position;
        long to = target ?? Align(pos, alignment);
        if (to < pos) throw new InvalidOperationException("tensor data overlaps");
        for (; pos < to; pos++) w.Write((byte)0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValueType type, object value, GgufValueType elementType)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        switch (type)
        {
            case GgufValueType.UInt8: w.Write(Convert.ToByte(value, inv)); break;
            case GgufValueType.Int8: w.Write(Convert.ToSByte(value, inv)); break;
            case GgufValueType.UInt16: w.Write(Convert.ToUInt16(value, inv)); break;
            case GgufValueType.Int16: w.Write(Convert.ToInt16(value, inv)); break;
            case GgufValueType.UInt32: w.Write(Convert.ToUInt32(value, inv)); break;
            case GgufValueType.Int32: w.Write(Convert.ToInt32(value, inv)); break;
            case GgufValueType.Float32: w.Write(Convert.ToSingle(value, inv)); break;
            case GgufValueType.Bool: w.Write((byte)((bool)value ? 1 : 0)); break;
            case GgufValueType.String: WriteString(w, (string)value); break;
            case GgufValueType.UInt64: w.Write(Convert.ToUInt64(value, inv)); break;
            case GgufValueType.Int64: w.Write(Convert.ToInt64(value, inv)); break;
            case GgufValueType.Float64: w.Write(Convert.ToDouble(value, inv)); break;
            case GgufValueType.Array:
                var items = (System.Collections.IList)value;
                w.Write((uint)elementType);
                w.Write((ulong)items.Count);
                foreach (var item in items) WriteValue(w, elementType, item!, GgufValueType.UInt8);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }
}
