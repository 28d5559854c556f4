using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace MambaGen.CpuBench.Gguf;

/// <summary>A tensor info as read back: name, dimensions fastest-first (ggml's ne), type, offset from the data start.</summary>
public sealed record GgufTensorInfo(string Name, ulong[] Ne, GgmlType Type, ulong Offset)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Ne) n *= (long)d;
            return n;
        }
    }
}

/// <summary>A GGUF file read back: version, metadata (arrays as object[]), tensor infos and where the data starts.</summary>
public sealed class GgufFile
{
    public required uint Version { get; init; }
    public required Dictionary<string, object> Metadata { get; init; }
    public required Dictionary<string, GgufValueType> MetadataTypes { get; init; }
    public required List<string> KeyOrder { get; init; }
    public required List<GgufTensorInfo> Tensors { get; init; }
    public required long DataStart { get; init; }
    public required int Alignment { get; init; }
    public required string Path { get; init; }

    /// <summary>A tensor's values as fp32 (F32, F16 and BF16).</summary>
    public float[] ReadTensor(GgufTensorInfo info)
    {
        using var f = File.OpenRead(Path);
        f.Position = DataStart + (long)info.Offset;
        var bytes = new byte[info.ElementCount * GgufWriter.ElementSize(info.Type)];
        f.ReadExactly(bytes);
        var result = new float[info.ElementCount];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = info.Type switch
            {
                GgmlType.F32 => BitConverter.ToSingle(bytes, 4 * i),
                GgmlType.F16 => (float)BitConverter.ToHalf(bytes, 2 * i),
                GgmlType.BF16 => GgufWriter.FromBf16(BitConverter.ToUInt16(bytes, 2 * i)),
                _ => throw new NotSupportedException(info.Type.ToString()),
            };
        }

        return result;
    }
}

/// <summary>Reads a GGUF version 2 or 3 file's header, metadata and tensor infos, checking what it can on the way.</summary>
public static class GgufReader
{
    public static GgufFile Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var r = new BinaryReader(stream, Encoding.UTF8);
        if (r.ReadUInt32() != GgufWriter.Magic) throw new InvalidDataException($"{path}: not a GGUF file (bad magic).");
        uint version = r.ReadUInt32();
        if (version is < 2 or > 3) throw new InvalidDataException($"{path}: GGUF version {version} not supported.");
        ulong tensorCount = r.ReadUInt64();
        ulong kvCount = r.ReadUInt64();
        var metadata = new Dictionary<string, object>();
        var types = new Dictionary<string, GgufValueType>();
        var order = new List<string>();
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = ReadString(r);
            var type = (GgufValueType)r.ReadUInt32();
            if (!metadata.TryAdd(key, ReadValue(r, type))) throw new InvalidDataException($"{path}: duplicate key {key}.");
            types[key] = type;
            order.Add(key);
        }

        int alignment = metadata.TryGetValue("general.alignment", out var a) ? Convert.ToInt32(a, System.Globalization.CultureInfo.InvariantCulture) : GgufWriter.DefaultAlignment;
        var tensors = new List<GgufTensorInfo>();
        var names = new HashSet<string>();
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = ReadString(r);
            if (!names.Add(name)) throw new InvalidDataException($"{path}: duplicate tensor {name}.");
            uint nDims = r.ReadUInt32();
            if (nDims is 0 or > 4) throw new InvalidDataException($"{path}: tensor {name} has {nDims} dimensions.");
            var ne = new ulong[nDims];
            for (int d = 0; d < nDims; d++) ne[d] = r.ReadUInt64();
            var type = (GgmlType)r.ReadUInt32();
            ulong offset = r.ReadUInt64();
            if (offset % (ulong)alignment != 0) throw new InvalidDataException($"{path}: tensor {name} at offset {offset}, not a multiple of {alignment}.");
            tensors.Add(new GgufTensorInfo(name, ne, type, offset));
        }

        long dataStart = GgufWriter.Align(stream.Position, alignment);
        foreach (var t in tensors)
        {
            long end = dataStart + (long)t.Offset + t.ElementCount * GgufWriter.ElementSize(t.Type);
            if (end > stream.Length) throw new InvalidDataException($"{path}: tensor {t.Name} ends at {end}, past the file's {stream.Length} bytes.");
        }

        return new GgufFile
        {
            Version = version, Metadata = metadata, MetadataTypes = types, KeyOrder = order, Tensors = tensors,
            DataStart = dataStart, Alignment = alignment, Path = path,
        };
    }

    private static string ReadString(BinaryReader r)
    {
        ulong n = r.ReadUInt64();
        if (n > int.MaxValue) throw new InvalidDataException($"string of {n} bytes");
        return Encoding.UTF8.GetString(r.ReadBytes((int)n));
    }

    private static object ReadValue(BinaryReader r, GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => r.ReadByte(),
        GgufValueType.Int8 => r.ReadSByte(),
        GgufValueType.UInt16 => r.ReadUInt16(),
        GgufValueType.Int16 => r.ReadInt16(),
        GgufValueType.UInt32 => r.ReadUInt32(),
        GgufValueType.Int32 => r.ReadInt32(),
        GgufValueType.Float32 => r.ReadSingle(),
        GgufValueType.Bool => r.ReadByte() switch { 0 => false, 1 => true, var b => throw new InvalidDataException($"bool byte {b}") },
        GgufValueType.String => ReadString(r),
        GgufValueType.UInt64 => r.ReadUInt64(),
        GgufValueType.Int64 => r.ReadInt64(),
        GgufValueType.Float64 => r.ReadDouble(),
        GgufValueType.Array => ReadArray(r),
        _ => throw new InvalidDataException($"unknown metadata type {(uint)type}"),
    };

    private static object[] ReadArray(BinaryReader r)
    {
        var element = (GgufValueType)r.ReadUInt32();
        ulong n = r.ReadUInt64();
        var items = new object[n];
        for (ulong i = 0; i < n; i++) items[i] = ReadValue(r, element);
        return items;
    }
}
