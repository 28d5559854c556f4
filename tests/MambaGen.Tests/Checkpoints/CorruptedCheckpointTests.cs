using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using MambaGen.Checkpoints;
using MambaGen.Models;
using static TorchSharp.torch;

namespace MambaGen.Tests.Checkpoints;

/// <summary>
/// One broken copy of a fixture checkpoint per class of corruption, each run through what <c>mambagen generate</c>
/// does before its first step (open, tokenizer, load); each must be a <see cref="CheckpointException"/> naming the
/// file and the key or tensor at fault, never an allocation of what config.json claims, a crash or a silent load.
/// </summary>
public class CorruptedCheckpointTests
{
    /// <param name="Fixture">The fixture copied and broken: mamba1 or mamba2.</param>
    /// <param name="Break">Breaks the scratch copy.</param>
    /// <param name="File">The file the first problem must name.</param>
    /// <param name="Key">The key or tensor the first problem must name; null for a whole-file problem.</param>
    /// <param name="Says">A fragment of the reason.</param>
    /// <param name="Dtype">The dtype the model is loaded in.</param>
    private sealed record Case(string Fixture, Action<string> Break, string File, string? Key, string Says, ScalarType Dtype = ScalarType.Float32);

    private const string Weights = "model.safetensors";
    private const string Config = "config.json";
    private const string Tokenizer = "tokenizer.json";

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // The safetensors container.
        ["truncated safetensors"] = new("mamba1", d => Truncate(d, 100), Weights, "backbone.norm_f.weight", "truncated"),
        ["header length larger than the file"] = new("mamba1", d => SetHeaderLength(d, 1L << 40), Weights, null, "runs past the end of the file"),
        ["file shorter than the length prefix"] = new("mamba1", d => System.IO.File.WriteAllBytes(Path.Combine(d, Weights), new byte[5]), Weights, null, "too short"),
        ["overlapping data offsets"] = new("mamba1", d => ShiftOffsets(d, "backbone.layers.1.mixer.D", -4), Weights, "backbone.layers.1.mixer.D", "overlap"),
        ["data offsets past the end of the data"] = new("mamba1", d => ShiftOffsets(d, "backbone.layers.1.mixer.D", 1 << 20), Weights, "backbone.layers.1.mixer.D", "run past the end"),
        ["dtype that disagrees with the byte length"] = new("mamba1", d => EditTensor(d, "backbone.layers.1.mixer.D", t => t with { Dtype = "BF16" }), Weights, "backbone.layers.1.mixer.D", "needs 192 bytes"),
        ["invalid UTF-8 in a header key"] = new("mamba1", d => BreakKeyUtf8(d, "backbone.layers.1.mixer.D"), Weights, "backbone.layers.1.mixer.\uFFFD", "not valid UTF-8"),
        // Tensors against the model config.json describes.
        ["missing tensor"] = new("mamba1", d => EditTensor(d, "backbone.layers.2.mixer.A_log", _ => null), Weights, "backbone.layers.2.mixer.A_log", "missing from the checkpoint"),
        ["extra tensor"] = new("mamba2", d => AddTensor(d, "backbone.layers.0.mixer.extra.weight"), Weights, "backbone.layers.0.mixer.extra.weight", "not a tensor of the model"),
        ["extra layer"] = new("mamba2", d => AddTensor(d, "backbone.layers.3.norm.weight"), Config, "num_hidden_layers", "holds layers 0 to 3"),
        ["shape mismatch in one layer"] = new("mamba2", d => EditTensor(d, "backbone.layers.2.mixer.D", t => t with { Shape = new long[] { 3, 2 } }), Weights, "backbone.layers.2.mixer.D", "does not match the model's [6]"),
        ["integer dtype for a weight"] = new("mamba1", d => EditTensor(d, "backbone.layers.0.mixer.D", t => t with { Dtype = "I32" }), Weights, "backbone.layers.0.mixer.D", "cannot be loaded"),
        // config.json sizes: none may be trusted before it is checked against the headers.
        ["vocab_size 2^31-1"] = new("mamba1", d => EditConfig(d, c => c["vocab_size"] = int.MaxValue), Config, "vocab_size", "'backbone.embeddings.weight' as [61, 48]"),
        ["num_hidden_layers 2^31-1"] = new("mamba2", d => EditConfig(d, c => c["num_hidden_layers"] = int.MaxValue), Config, "num_hidden_layers", "holds layers 0 to 2"),
        ["hidden_size 2^31-1"] = new("mamba1", d => EditConfig(d, c => c["hidden_size"] = int.MaxValue), Config, "hidden_size", "'backbone.embeddings.weight' as [61, 48]"),
        ["expand * hidden_size overflows"] = new("mamba1", d => EditConfig(d, c => { c.Remove("intermediate_size"); c["expand"] = 1 << 30; }), Config, "expand", "overflows"),
        ["num_heads * head_dim overflows"] = new("mamba2", d => EditConfig(d, c => { c["num_heads"] = 1 << 16; c["head_dim"] = 1 << 16; }), Config, "num_heads", "is not a size"),
        ["state_size that disagrees with the weights"] = new("mamba1", d => EditConfig(d, c => c["state_size"] = 16), Config, "state_size", "A_log"),
        ["n_groups that disagrees with the weights"] = new("mamba2", d => EditConfig(d, c => c["n_groups"] = 2), Config, "state_size", "96 + 2 * 2 * 8 = 128"),
        ["conv_kernel that disagrees with the weights"] = new("mamba2", d => EditConfig(d, c => c["conv_kernel"] = 3), Config, "conv_kernel", "conv1d.weight"),
        ["config.json above its size limit"] = new("mamba1", d => PadFile(Path.Combine(d, Config), MambaCheckpointConfig.MaxFileBytes), Config, null, "above the limit"),
        // Weights that load but would generate garbage.
        ["NaN weight"] = new("mamba2", d => PoisonTensor(d, "backbone.layers.1.mixer.in_proj.weight", float.NaN), Weights, "backbone.layers.1.mixer.in_proj.weight", "1 NaN"),
        ["Inf weight"] = new("mamba1", d => PoisonTensor(d, "backbone.layers.0.mixer.D", float.NegativeInfinity), Weights, "backbone.layers.0.mixer.D", "1 Inf"),
        // A projection: on the CPU an f16 model keeps only its matmul weights in f16 (mixed precision).
        ["weight that overflows fp16"] = new("mamba1", d => PoisonTensor(d, "backbone.layers.2.mixer.out_proj.weight", 1e6f), Weights, "backbone.layers.2.mixer.out_proj.weight", "overflow the model's Float16", ScalarType.Float16),
        // Config values that change the math and are not supported.
        ["chunk_size not a power of two"] = new("mamba2", d => EditConfig(d, c => c["chunk_size"] = 48), Config, "chunk_size", "power of two"),
        ["hidden_act other than silu"] = new("mamba1", d => EditConfig(d, c => c["hidden_act"] = "gelu"), Config, "hidden_act", "'gelu' is not supported"),
        ["negative time_step_limit"] = new("mamba2", d => EditConfig(d, c => c["time_step_limit"] = new JsonArray(-1.0, 0.1)), Config, "time_step_limit", "0 <= min <= max"),
        ["inverted time_step_limit"] = new("mamba2", d => EditConfig(d, c => c["time_step_limit"] = new JsonArray(0.1, 0.01)), Config, "time_step_limit", "found [0.1, 0.01]"),
        ["rms_norm false"] = new("mamba2", d => EditConfig(d, c => c["rms_norm"] = false), Config, "rms_norm", "not supported"),
        // Token ids.
        ["bos_token_id outside the vocabulary"] = new("mamba1", d => EditConfig(d, c => c["bos_token_id"] = 61), Config, "bos_token_id", "outside the vocabulary [0, 61)"),
        ["eos_token_id outside the vocabulary"] = new("mamba2", d => EditConfig(d, c => c["eos_token_id"] = new JsonArray(3, 100)), Config, "eos_token_id", "100 is outside"),
        ["negative pad_token_id"] = new("mamba2", d => EditConfig(d, c => c["pad_token_id"] = -1), Config, "pad_token_id", "-1 is outside"),
        ["tokenizer ids beyond vocab_size"] = new("mamba2", d => System.IO.File.WriteAllText(Path.Combine(d, Tokenizer), HuggingFaceBpeTokenizerTests.TinyTokenizerJson(false)), Tokenizer, "model.vocab", "has id 61, outside the model's vocabulary [0, 61)"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Corrupted_checkpoint_is_refused_naming_the_file_and_the_key(string name)
    {
        var c = Cases[name];
        using var scratch = ScratchFolder.CopyOf(c.Fixture == "mamba1" ? CheckpointFixtures.Mamba1 : CheckpointFixtures.Mamba2, "expected.safetensors", "expected.as-shared.safetensors");
        c.Break(scratch.Path);

        var e = Assert.Throws<CheckpointException>(() => OpenAndLoad(scratch.Path, c.Dtype));
        Assert.Equal(c.File, Path.GetFileName(e.File));
        Assert.Equal(c.Key, e.Name);
        Assert.Contains(c.File, e.Message);
        if (c.Key is not null) Assert.Contains($"'{c.Key}'", e.Message);
        Assert.Contains(c.Says, e.Message);
    }

    [Theory]
    [InlineData("mamba1")]
    [InlineData("mamba2")]
    public void Unbroken_copies_load(string fixture)
    {
        using var scratch = ScratchFolder.CopyOf(fixture == "mamba1" ? CheckpointFixtures.Mamba1 : CheckpointFixtures.Mamba2);
        OpenAndLoad(scratch.Path, ScalarType.Float32);
    }

    /// <summary>What generate does before its first step: open (config, headers), tokenizer, then the model.</summary>
    private static void OpenAndLoad(string folder, ScalarType dtype)
    {
        var checkpoint = HuggingFaceCheckpoint.Open(folder);
        if (checkpoint.HasTokenizer) checkpoint.LoadTokenizer();
        using var model = MambaLanguageModel.Load(checkpoint, CPU, dtype);
    }

    private static string WeightsOf(string folder) => Path.Combine(folder, Weights);

    private static void Truncate(string folder, int bytes)
    {
        using var stream = new FileStream(WeightsOf(folder), FileMode.Open);
        stream.SetLength(stream.Length - bytes);
    }

    private static void SetHeaderLength(string folder, long length)
    {
        using var stream = new FileStream(WeightsOf(folder), FileMode.Open);
        stream.Write(BitConverter.GetBytes(length));
    }

    private static (byte[] Header, byte[] Data) Split(string path)
    {
        var bytes = System.IO.File.ReadAllBytes(path);
        int length = (int)BitConverter.ToInt64(bytes, 0);
        return (bytes[8..(8 + length)], bytes[(8 + length)..]);
    }

    private static void ShiftOffsets(string folder, string tensor, long by)
    {
        var (header, data) = Split(WeightsOf(folder));
        var json = JsonNode.Parse(header)!.AsObject();
        var offsets = json[tensor]!["data_offsets"]!.AsArray();
        offsets[0] = (long)offsets[0]! + by;
        offsets[1] = (long)offsets[1]! + by;
        SafetensorsTestWriter.WriteRaw(WeightsOf(folder), json.ToJsonString(), data);
    }

    private static void BreakKeyUtf8(string folder, string tensor)
    {
        var (header, data) = Split(WeightsOf(folder));
        byte[] find = Encoding.ASCII.GetBytes($"\"{tensor}\"");
        int at = header.AsSpan().IndexOf(find);
        Assert.True(at >= 0, $"{tensor} not in the header");
        // The key's last character becomes 0xFF, a byte that never occurs in UTF-8.
        var broken = header.ToArray();
        broken[at + find.Length - 2] = 0xFF;
        SafetensorsTestWriter.WriteRaw(WeightsOf(folder), broken, data);
    }

    /// <summary>Rewrites the weights with one tensor changed (or removed, when <paramref name="edit"/> returns null).</summary>
    private static void EditTensor(string folder, string tensor, Func<RawTensor, RawTensor?> edit)
    {
        var tensors = SafetensorsTestWriter.ReadAll(WeightsOf(folder));
        int i = tensors.FindIndex(t => t.Name == tensor);
        Assert.True(i >= 0, $"{tensor} not in the fixture");
        if (edit(tensors[i]) is { } changed) tensors[i] = changed;
        else tensors.RemoveAt(i);
        SafetensorsTestWriter.Write(WeightsOf(folder), tensors);
    }

    private static void AddTensor(string folder, string tensor)
    {
        var tensors = SafetensorsTestWriter.ReadAll(WeightsOf(folder));
        tensors.Add(new RawTensor(tensor, "F32", new long[] { 48 }, new byte[48 * 4]));
        SafetensorsTestWriter.Write(WeightsOf(folder), tensors);
    }

    /// <summary>Writes <paramref name="value"/> into the tensor's first element (the fixtures are fp32).</summary>
    private static void PoisonTensor(string folder, string tensor, float value) => EditTensor(folder, tensor, t =>
    {
        Assert.Equal("F32", t.Dtype);
        var data = t.Data.ToArray();
        BitConverter.GetBytes(value).CopyTo(data, 0);
        return t with { Data = data };
    });

    private static void EditConfig(string folder, Action<JsonObject> edit)
    {
        string path = Path.Combine(folder, Config);
        var json = JsonNode.Parse(System.IO.File.ReadAllText(path))!.AsObject();
        edit(json);
        System.IO.File.WriteAllText(path, json.ToJsonString());
    }

    /// <summary>Pads a JSON file with whitespace to one byte over <paramref name="limit"/> (still valid JSON).</summary>
    private static void PadFile(string path, long limit)
    {
        string text = System.IO.File.ReadAllText(path);
        System.IO.File.WriteAllText(path, text + new string(' ', (int)(limit - Encoding.UTF8.GetByteCount(text) + 1)));
    }
}
