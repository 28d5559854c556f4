using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace MambaGen.Cli.Tests;

/// <summary>One tensor as a safetensors file stores it; tests edit these to write broken files.</summary>
internal sealed record RawTensor(string Name, string Dtype, long[] Shape, byte[] Data)
{
    public static RawTensor From(string name, Tensor tensor)
    {
        string dtype = tensor.dtype switch
        {
            ScalarType.Float32 => "F32",
            ScalarType.Float16 => "F16",
            ScalarType.BFloat16 => "BF16",
            ScalarType.Int64 => "I64",
            ScalarType.Int32 => "I32",
            _ => throw new System.ArgumentException($"No safetensors dtype for {tensor.dtype}"),
        };
        using var contiguous = tensor.contiguous();
        return new RawTensor(name, dtype, tensor.shape, contiguous.bytes.ToArray());
    }
}

/// <summary>Writes safetensors files the way the reference implementation lays them out (header padded to 8 bytes).</summary>
internal static class SafetensorsTestWriter
{
    public static void Write(string path, IEnumerable<RawTensor> tensors)
    {
        var list = tensors.ToList();
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("format", "pt");
            json.WriteEndObject();
            long offset = 0;
            foreach (var t in list)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.Dtype);
                json.WriteStartArray("shape");
                foreach (var d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Data.Length;
            }
            json.WriteEndObject();
        }
        WriteRaw(path, header.ToArray(), list.SelectMany(t => t.Data).ToArray());
    }

    /// <summary>Writes a file from a header and data given as they are, for headers no writer would produce.</summary>
    public static void WriteRaw(string path, byte[] header, byte[] data)
    {
        int padding = (8 - header.Length % 8) % 8;
        using var file = File.Create(path);
        using var writer = new BinaryWriter(file);
        writer.Write((ulong)(header.Length + padding));
        writer.Write(header);
        writer.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        writer.Write(data);
    }

    public static void WriteRaw(string path, string header, byte[] data) => WriteRaw(path, Encoding.UTF8.GetBytes(header), data);

    /// <summary>The tensors of an existing file, in header order.</summary>
    public static List<RawTensor> ReadAll(string path)
    {
        var file = MambaGen.Checkpoints.SafetensorsFile.Open(path);
        var result = new List<RawTensor>();
        foreach (var name in file.Tensors.Keys)
        {
            using var tensor = file.Read(name);
            result.Add(RawTensor.From(name, tensor));
        }
        return result;
    }
}
