using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Checkpoints;

/// <summary>
/// One .safetensors file: its header, parsed and checked against the file on open, and its tensors, read on demand
/// into CPU tensors.
/// </summary>
/// <remarks>
/// The header is read here rather than through TorchSharp.PyBridge's <c>Safetensors.LoadStateDict</c>: that reader
/// loads every tensor at once, does not check offsets against the file's length or against each other, and reports
/// problems without the file's name. The format is an 8-byte length, a JSON header and raw little-endian bytes; the
/// checks are the work, and the bytes go straight from the file into the tensor's memory.
/// </remarks>
public sealed class SafetensorsFile
{
    /// <summary>The safetensors reference implementation refuses headers above 100 MB; so do we.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    private readonly Dictionary<string, SafetensorsTensorInfo> _tensors;
    private readonly long _dataStart;

    private SafetensorsFile(string path, Dictionary<string, SafetensorsTensorInfo> tensors, long dataStart,
        IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _tensors = tensors;
        _dataStart = dataStart;
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>The tensors of the file, by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors => _tensors;

    /// <summary>The header's free-form <c>__metadata__</c> (e.g. format: pt).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Reads and checks the header of <paramref name="path"/>; every problem found is in the exception.</summary>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, null, "file not found");
        using var stream = OpenRead(path);
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new CheckpointException(path, null, $"file is {fileLength} bytes, too short for the 8-byte header length: truncated or not a safetensors file");

        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw new CheckpointException(path, null,
                $"header length {headerLength} runs past the end of the file ({fileLength} bytes): truncated or not a safetensors file");
        if (headerLength > MaxHeaderBytes)
            throw new CheckpointException(path, null, $"header length {headerLength} exceeds {MaxHeaderBytes} bytes");

        var headerBytes = new byte[(int)headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        // System.Text.Json parses invalid UTF-8 inside strings and fails only when the string is read, with no name attached.
        if (!Utf8.IsValid(headerBytes)) throw new CheckpointException(InvalidUtf8(path, headerBytes));

        JsonDocument header;
        try
        {
            header = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, null, $"header is not valid JSON: {e.Message}", e);
        }
        using (header)
        {
            if (header.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(path, null, $"header must be a JSON object, found {header.RootElement.ValueKind}");
            var problems = new List<CheckpointProblem>();
            var metadata = new Dictionary<string, string>();
            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            try
            {
                foreach (var entry in header.RootElement.EnumerateObject())
                {
                    if (entry.Name == "__metadata__")
                    {
                        ReadMetadata(path, entry.Value, metadata, problems);
                        continue;
                    }
                    var info = ReadEntry(path, entry.Name, entry.Value, dataLength, problems);
                    if (info is null) continue;
                    if (!tensors.TryAdd(entry.Name, info))
                        problems.Add(new CheckpointProblem(path, entry.Name, "appears twice in the header"));
                }
            }
            catch (InvalidOperationException e)
            {
                // Valid UTF-8 can still escape a lone surrogate (\ud800), which no .NET string can hold.
                throw new CheckpointException(path, null, $"header holds a string that is not valid Unicode: {e.Message}", e);
            }
            if (problems.Count == 0) CheckDataLayout(path, tensors.Values, dataLength, problems);
            if (problems.Count > 0) throw new CheckpointException(problems);
            return new SafetensorsFile(path, tensors, dataStart, metadata);
        }
    }

    private SafetensorsTensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw new CheckpointException(Path, name, "not in this file");

    /// <summary>Reads one tensor into a new CPU tensor of the file's dtype and shape.</summary>
    public Tensor Read(string name)
    {
        var info = Info(name);
        var tensor = empty(info.Shape, dtype: info.Dtype);
        try
        {
            ReadInto(name, tensor);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }

        return tensor;
    }

    /// <summary>The largest buffer a dtype conversion reads through (a model in bf16 from an f32 file).</summary>
    internal const long ConvertChunkBytes = 4L << 20;

    /// <summary>
    /// Reads one tensor into <paramref name="target"/>, a contiguous CPU tensor with the same number of elements: the
    /// bytes go straight from the file into its memory when the dtypes agree; otherwise through a buffer of at most
    /// <see cref="ConvertChunkBytes"/> that libtorch converts chunk by chunk. No full-size copy of the tensor is made.
    /// </summary>
    public unsafe void ReadInto(string name, Tensor target)
    {
        var info = Info(name);
        long count = info.Shape.Aggregate(1L, (a, b) => a * b);
        if (target.device_type != DeviceType.CPU || !target.is_contiguous() || target.numel() != count)
            throw new ArgumentException($"'{name}' ({count} elements) can only be read into a contiguous CPU tensor of as many elements; got {target.numel()} on {target.device}.", nameof(target));

        using var handle = OpenHandle(Path);
        // The file may have changed since the header was checked; never read past its end.
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < _dataStart + info.DataEnd)
            throw new CheckpointException(Path, name,
                $"data ends at byte {_dataStart + info.DataEnd} but the file now holds {fileLength} bytes: truncated");
        if (count == 0) return;

        long begin = _dataStart + info.DataBegin, itemSize = info.ByteLength / count;
        if (target.dtype == info.Dtype)
        {
            ReadExactly(handle, (byte*)Cuda.TorchCuda.DataPtrOfAnyDevice(target), info.ByteLength, begin, name);
            return;
        }

        long chunk = Math.Min(count, Math.Max(1, ConvertChunkBytes / itemSize));
        using var buffer = empty(chunk, dtype: info.Dtype);
        using var flat = target.view(-1);
        byte* pb = (byte*)Cuda.TorchCuda.DataPtrOfAnyDevice(buffer);
        for (long at = 0; at < count; at += chunk)
        {
            long n = Math.Min(chunk, count - at);
            ReadExactly(handle, pb, n * itemSize, begin + at * itemSize, name);
            using var source = buffer.narrow(0, 0, n);
            using var destination = flat.narrow(0, at, n);
            destination.copy_(source);
        }
    }

    private unsafe void ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle handle, byte* target, long count, long offset, string name)
    {
        while (count > 0)
        {
            int read;
            try
            {
                read = RandomAccess.Read(handle, new Span<byte>(target, (int)Math.Min(count, 1 << 30)), offset);
            }
            catch (IOException e)
            {
                throw new CheckpointException(Path, name, $"cannot be read: {e.Message}", e);
            }

            if (read == 0)
                throw new CheckpointException(Path, name, $"the file ended at byte {offset} while reading the tensor: truncated");
            target += read;
            count -= read;
            offset += read;
        }
    }

    /// <summary>Reads every tensor of the file; the caller disposes them.</summary>
    public Dictionary<string, Tensor> ReadAll() => _tensors.Keys.ToDictionary(name => name, Read, StringComparer.Ordinal);

    /// <summary>
    /// The problem of a header that is not valid UTF-8: the key (or the string value) holding the first invalid byte,
    /// shown with U+FFFD for the bad bytes, and the byte offset.
    /// </summary>
    private static CheckpointProblem InvalidUtf8(string path, byte[] header)
    {
        int bad = 0;
        while (bad < header.Length)
        {
            if (Rune.DecodeFromUtf8(header.AsSpan(bad), out _, out int consumed) != OperationStatus.Done) break;
            bad += consumed;
        }
        // The enclosing JSON string: back to the unescaped quote that opens it, forward to the one that closes it.
        int open = bad - 1;
        while (open >= 0 && !(header[open] == (byte)'"' && !IsEscaped(header, open))) open--;
        int close = bad;
        while (close < header.Length && !(header[close] == (byte)'"' && !IsEscaped(header, close))) close++;
        if (open < 0 || close >= header.Length)
            return new CheckpointProblem(path, null, $"header is not valid UTF-8 (byte {8 + bad} of the file)");
        string text = Encoding.UTF8.GetString(header, open + 1, close - open - 1);
        int next = close + 1;
        while (next < header.Length && header[next] is 0x20 or 0x09 or 0x0D or 0x0A) next++;
        bool isKey = next < header.Length && header[next] == (byte)':';
        return isKey
            ? new CheckpointProblem(path, text, $"header key is not valid UTF-8 (byte {8 + bad} of the file; invalid bytes shown as U+FFFD)")
            : new CheckpointProblem(path, null, $"header string \"{text}\" is not valid UTF-8 (byte {8 + bad} of the file; invalid bytes shown as U+FFFD)");
    }

    private static bool IsEscaped(byte[] bytes, int index)
    {
        int backslashes = 0;
        for (int i = index - 1; i >= 0 && bytes[i] == (byte)'\\'; i--) backslashes++;
        return backslashes % 2 == 1;
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenHandle(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, null, $"cannot be read: {e.Message}", e);
        }
    }

    private static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, null, $"cannot be read: {e.Message}", e);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata, List<CheckpointProblem> problems)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            problems.Add(new CheckpointProblem(path, "__metadata__", $"must be an object of strings, found {value.ValueKind}", "key"));
            return;
        }
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind == JsonValueKind.String) metadata[item.Name] = item.Value.GetString()!;
            else problems.Add(new CheckpointProblem(path, "__metadata__", $"value of '{item.Name}' must be a string", "key"));
        }
    }

    private static SafetensorsTensorInfo? ReadEntry(string path, string name, JsonElement value, long dataLength, List<CheckpointProblem> problems)
    {
        void Problem(string reason) => problems.Add(new CheckpointProblem(path, name, reason));

        if (value.ValueKind != JsonValueKind.Object)
        {
            Problem($"header entry must be an object with dtype, shape and data_offsets, found {value.ValueKind}");
            return null;
        }
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            Problem("header entry has no dtype string");
            return null;
        }
        string dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDtypes.TryParse(dtypeName, out var dtype, out int itemSize))
        {
            Problem($"dtype '{dtypeName}' is not supported (supported: {SafetensorsDtypes.Supported})");
            return null;
        }
        if (!TryReadLongs(value, "shape", out var shape) || shape.Any(d => d < 0))
        {
            Problem("header entry has no shape list of non-negative integers");
            return null;
        }
        if (!TryReadLongs(value, "data_offsets", out var offsets) || offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
        {
            Problem("header entry has no data_offsets [begin, end] with 0 <= begin <= end");
            return null;
        }
        long expectedBytes;
        try
        {
            expectedBytes = checked(shape.Aggregate(1L, (n, d) => n * d) * itemSize);
        }
        catch (OverflowException)
        {
            Problem($"shape {SafetensorsTensorInfo.FormatShape(shape)} is too large");
            return null;
        }
        long byteLength = offsets[1] - offsets[0];
        if (byteLength != expectedBytes)
        {
            Problem($"shape {SafetensorsTensorInfo.FormatShape(shape)} of {dtypeName} needs {expectedBytes} bytes but data_offsets [{offsets[0]}, {offsets[1]}] span {byteLength}");
            return null;
        }
        if (offsets[1] > dataLength)
        {
            Problem($"data_offsets [{offsets[0]}, {offsets[1]}] run past the end of the data section ({dataLength} bytes): file truncated");
            return null;
        }
        return new SafetensorsTensorInfo(path, name, dtype, dtypeName, shape, offsets[0], offsets[1]);
    }

    /// <summary>Tensors must tile the data section exactly, as the reference implementation requires: no overlap, gap or tail.</summary>
    private static void CheckDataLayout(string path, IEnumerable<SafetensorsTensorInfo> tensors, long dataLength, List<CheckpointProblem> problems)
    {
        long expectedBegin = 0;
        foreach (var info in tensors.OrderBy(t => t.DataBegin).ThenBy(t => t.DataEnd))
        {
            if (info.DataBegin < expectedBegin)
                problems.Add(new CheckpointProblem(path, info.Name, $"data_offsets [{info.DataBegin}, {info.DataEnd}] overlap the previous tensor, which ends at {expectedBegin}"));
            else if (info.DataBegin > expectedBegin)
                problems.Add(new CheckpointProblem(path, info.Name, $"data_offsets [{info.DataBegin}, {info.DataEnd}] leave a gap after byte {expectedBegin}"));
            expectedBegin = Math.Max(expectedBegin, info.DataEnd);
        }
        if (problems.Count == 0 && expectedBegin != dataLength)
            problems.Add(new CheckpointProblem(path, null, $"data section holds {dataLength} bytes but the tensors cover {expectedBegin}: {dataLength - expectedBegin} stray bytes at the end"));
    }

    private static bool TryReadLongs(JsonElement entry, string key, out long[] values)
    {
        values = Array.Empty<long>();
        if (!entry.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array) return false;
        var list = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out list[i++])) return false;
        }
        values = list;
        return true;
    }
}
