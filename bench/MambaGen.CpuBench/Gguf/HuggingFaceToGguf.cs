using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MambaGen.CpuBench.Gguf;

/// <summary>
/// Converts a HuggingFace <c>mamba</c> / <c>mamba2</c> checkpoint folder (config.json, model.safetensors, and
/// tokenizer.json when there is one) to a GGUF file that llama.cpp loads with its <c>mamba</c> / <c>mamba2</c>
/// architecture. It follows what llama.cpp's own converter (convert_hf_to_gguf.py, MambaModel / Mamba2Model) writes:
/// <list type="bullet">
/// <item>tensor names <c>token_embd</c>, <c>output_norm</c>, <c>output</c> (left out when the embeddings are tied:
/// llama.cpp then uses <c>token_embd</c>), and per block <c>blk.N.attn_norm</c>, <c>ssm_in</c>, <c>ssm_conv1d</c>,
/// <c>ssm_x</c> / <c>ssm_dt</c> (mamba), <c>ssm_dt.bias</c> (mamba2's <c>dt_bias</c>), <c>ssm_a</c>, <c>ssm_d</c>,
/// <c>ssm_norm</c> (mamba2), <c>ssm_out</c>;</item>
/// <item>A_log stored as A = -exp(A_log); the conv weight's middle dimension of 1 squeezed away; mamba2's A and D
/// given a trailing dimension of 1 and its gated norm reshaped to (groups, inner / groups);</item>
/// <item>1-D tensors, norms, the conv weight and every tensor whose name does not end in <c>.weight</c> kept in fp32,
/// the rest in the file type asked for (fp32, bf16 or f16);</item>
/// <item>a <c>gpt2</c> BPE vocabulary from tokenizer.json (tokens, types, merges, bos / eos / pad ids from config.json),
/// ids without a token padded as <c>[PADn]</c> (unused); a folder without tokenizer.json gets one token per GPT-2
/// byte-level character, so llama.cpp's tokenizer and detokenizer have what they need.</item>
/// </list>
/// </summary>
public static class HuggingFaceToGguf
{
    public static GgufFileType ParseFileType(string dtype) => dtype.ToLowerInvariant() switch
    {
        "f32" or "float32" => GgufFileType.AllF32,
        "bf16" or "bfloat16" => GgufFileType.MostlyBF16,
        "f16" or "float16" => GgufFileType.MostlyF16,
        _ => throw new ArgumentException($"unknown dtype {dtype} (f32, bf16 or f16)"),
    };

    /// <summary>Converts <paramref name="folder"/> into <paramref name="outputPath"/>; returns the architecture written.</summary>
    public static string Convert(string folder, string outputPath, GgufFileType fileType)
    {
        using var configDoc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")), new JsonDocumentOptions { AllowTrailingCommas = true });
        var config = configDoc.RootElement;
        string modelType = config.GetProperty("model_type").GetString() ?? "";
        string arch = modelType switch
        {
            "mamba" or "falcon_mamba" => "mamba",
            "mamba2" => "mamba2",
            _ => throw new NotSupportedException($"model_type {modelType}: only mamba and mamba2 are converted."),
        };

        var weights = SafetensorsReader.ReadFolder(folder);
        int dModel = Int(config, "hidden_size", "d_model") ?? throw new InvalidDataException("config.json has no hidden_size");
        int nLayer = Int(config, "num_hidden_layers", "n_layer") ?? throw new InvalidDataException("config.json has no num_hidden_layers");
        int dConv = Int(config, "conv_kernel", "d_conv") ?? 4;
        double eps = Double(config, "layer_norm_epsilon", "rms_norm_eps") ?? 1e-5;
        int vocabSize = weights["backbone.embeddings.weight"].Shape[0] is var rows and > 0 ? (int)rows : throw new InvalidDataException("no embeddings");

        var kv = new List<GgufKv>
        {
            new("general.architecture", GgufValueType.String, arch),
            new("general.type", GgufValueType.String, "model"),
            new("general.name", GgufValueType.String, Path.GetFileName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar))),
            new($"{arch}.context_length", GgufValueType.UInt32, 1u << 20),
            new($"{arch}.embedding_length", GgufValueType.UInt32, dModel),
            new($"{arch}.feed_forward_length", GgufValueType.UInt32, 0),
            new($"{arch}.attention.head_count", GgufValueType.UInt32, 0),
            new($"{arch}.block_count", GgufValueType.UInt32, nLayer),
            new($"{arch}.ssm.conv_kernel", GgufValueType.UInt32, dConv),
        };

        int dInner, nGroup = 1;
        if (arch == "mamba")
        {
            dInner = Int(config, "intermediate_size", "d_inner") ?? 2 * dModel;
            int dState = Int(config, "state_size", "d_state") ?? 16;
            int dtRank = Int(config, "time_step_rank", "dt_rank") ?? (dModel + 15) / 16;
            if (dInner != 2 * dModel) throw new NotSupportedException($"llama.cpp's converter requires intermediate_size = 2 * hidden_size (got {dInner}, {dModel}).");
            kv.Add(new($"{arch}.ssm.inner_size", GgufValueType.UInt32, dInner));
            kv.Add(new($"{arch}.ssm.state_size", GgufValueType.UInt32, dState));
            kv.Add(new($"{arch}.ssm.time_step_rank", GgufValueType.UInt32, dtRank));
            kv.Add(new($"{arch}.attention.layer_norm_rms_epsilon", GgufValueType.Float32, (float)eps));
            kv.Add(new($"{arch}.ssm.dt_b_c_rms", GgufValueType.Bool, modelType == "falcon_mamba"));
        }
        else
        {
            dInner = Int(config, "mamba_d_ssm", "intermediate_size", "d_inner") ?? 2 * dModel;
            nGroup = Int(config, "n_groups") ?? 1;
            int dState = Int(config, "state_size", "d_state") ?? 128;
            int headDim = Int(config, "mamba_d_head", "head_dim") ?? 64;
            if (dInner != 2 * dModel || dInner % headDim != 0)
                throw new NotSupportedException($"llama.cpp's converter requires inner = 2 * hidden_size and a whole number of heads (inner {dInner}, hidden {dModel}, head_dim {headDim}).");
            kv.Add(new($"{arch}.ssm.inner_size", GgufValueType.UInt32, dInner));
            kv.Add(new($"{arch}.ssm.state_size", GgufValueType.UInt32, dState));
            kv.Add(new($"{arch}.ssm.time_step_rank", GgufValueType.UInt32, dInner / headDim));
            kv.Add(new($"{arch}.ssm.group_count", GgufValueType.UInt32, nGroup));
            kv.Add(new($"{arch}.attention.layer_norm_rms_epsilon", GgufValueType.Float32, (float)eps));
        }

        kv.Add(new("general.file_type", GgufValueType.UInt32, (uint)fileType));
        AddVocabulary(kv, folder, config, vocabSize);
        kv.Add(new("general.quantization_version", GgufValueType.UInt32, 2u)); // GGML_QUANT_VERSION; the converter always writes it

        var tensors = new List<GgufTensor>();
        float[]? embeddings = null;
        foreach (var (hfName, tensor) in weights)
        {
            string name = MapName(hfName, arch);
            long[] shape = tensor.Shape;
            float[] data = tensor.Data;
            if (hfName.EndsWith(".A_log", StringComparison.Ordinal))
                data = data.Select(v => -MathF.Exp(v)).ToArray();
            if (name.EndsWith(".ssm_conv1d.weight", StringComparison.Ordinal))
                shape = shape.Where(d => d != 1).ToArray();
            else if (arch == "mamba2" && (name.EndsWith(".ssm_a", StringComparison.Ordinal) || name.EndsWith(".ssm_d", StringComparison.Ordinal)))
                shape = [.. shape, 1];
            else if (arch == "mamba2" && name.EndsWith(".ssm_norm.weight", StringComparison.Ordinal))
                shape = [nGroup, dInner / nGroup];

            if (name == "token_embd.weight") embeddings = data;
            if (name == "output.weight" && embeddings is not null && embeddings.AsSpan().SequenceEqual(data)) continue;
            tensors.Add(new GgufTensor(name, shape, TypeFor(name, shape, fileType), data));
        }

        // The converter writes token_embd before output; keep that order (llama.cpp does not care, readers might).
        tensors.Sort((a, b) => Rank(a.Name).CompareTo(Rank(b.Name)));
        GgufWriter.Write(outputPath, kv, tensors);
        return arch;
    }

    private static int Rank(string name) => name switch
    {
        "token_embd.weight" => 0,
        "output_norm.weight" => 2,
        "output.weight" => 3,
        _ => 1,
    };

    /// <summary>The converter's rule: 1-D tensors, norms, the conv weight and non-<c>.weight</c> tensors stay fp32.</summary>
    public static GgmlType TypeFor(string name, long[] shape, GgufFileType fileType)
    {
        if (shape.Length <= 1 || name.EndsWith("_norm.weight", StringComparison.Ordinal)
            || name.EndsWith(".ssm_conv1d.weight", StringComparison.Ordinal) || !name.EndsWith(".weight", StringComparison.Ordinal))
            return GgmlType.F32;
        return fileType switch
        {
            GgufFileType.AllF32 => GgmlType.F32,
            GgufFileType.MostlyBF16 => GgmlType.BF16,
            GgufFileType.MostlyF16 => GgmlType.F16,
            _ => throw new ArgumentOutOfRangeException(nameof(fileType)),
        };
    }

    /// <summary>HuggingFace tensor name to llama.cpp's (gguf-py's tensor map for mamba / mamba2).</summary>
    public static string MapName(string hfName, string arch)
    {
        string name = hfName.StartsWith("model.backbone", StringComparison.Ordinal) || hfName.StartsWith("model.lm_head", StringComparison.Ordinal)
            ? hfName["model.".Length..] : hfName;
        switch (name)
        {
            case "backbone.embeddings.weight" or "backbone.embedding.weight": return "token_embd.weight";
            case "backbone.norm_f.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }

        var m = Regex.Match(name, @"^backbone\.layers\.(\d+)\.(.+)$");
        if (!m.Success) throw new NotSupportedException($"tensor {hfName}: no llama.cpp name for it.");
        string blk = $"blk.{m.Groups[1].Value}.";
        string mapped = m.Groups[2].Value switch
        {
            "norm.weight" => "attn_norm.weight",
            "mixer.in_proj.weight" => "ssm_in.weight",
            "mixer.conv1d.weight" => "ssm_conv1d.weight",
            "mixer.conv1d.bias" => "ssm_conv1d.bias",
            "mixer.x_proj.weight" when arch == "mamba" => "ssm_x.weight",
            "mixer.dt_proj.weight" when arch == "mamba" => "ssm_dt.weight",
            "mixer.dt_proj.bias" or "mixer.dt_bias" => "ssm_dt.bias",
            "mixer.A_log" => "ssm_a",
            "mixer.D" => "ssm_d",
            "mixer.norm.weight" when arch == "mamba2" => "ssm_norm.weight",
            "mixer.out_proj.weight" => "ssm_out.weight",
            var other => throw new NotSupportedException($"tensor {hfName} ({other}): no llama.cpp name for it in {arch}."),
        };
        return blk + mapped;
    }

    private static void AddVocabulary(List<GgufKv> kv, string folder, JsonElement config, int vocabSize)
    {
        var tokens = new List<object>();
        var types = new List<object>();
        var merges = new List<object>();
        string pre = "gpt-2";
        string tokenizerPath = Path.Combine(folder, "tokenizer.json");
        if (File.Exists(tokenizerPath))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(tokenizerPath));
            var root = doc.RootElement;
            var model = root.GetProperty("model");
            if (model.GetProperty("type").GetString() != "BPE") throw new NotSupportedException("tokenizer.json: only a BPE model is converted (as gpt2).");
            var byId = new Dictionary<int, string>();
            foreach (var p in model.GetProperty("vocab").EnumerateObject()) byId[p.Value.GetInt32()] = p.Name;
            var added = new Dictionary<int, bool>();
            if (root.TryGetProperty("added_tokens", out var addedTokens))
            {
                foreach (var t in addedTokens.EnumerateArray())
                {
                    int id = t.GetProperty("id").GetInt32();
                    byId[id] = t.GetProperty("content").GetString()!;
                    added[id] = t.TryGetProperty("special", out var s) && s.GetBoolean();
                }
            }

            if (byId.Keys.Any(id => id >= vocabSize)) throw new InvalidDataException($"tokenizer.json has ids beyond the {vocabSize} embedding rows.");
            for (int i = 0; i < vocabSize; i++)
            {
                if (!byId.TryGetValue(i, out var token)) { tokens.Add($"[PAD{i}]"); types.Add(5); }              // unused
                else if (added.TryGetValue(i, out bool special)) { tokens.Add(token); types.Add(special ? 3 : 4); } // control / user-defined
                else { tokens.Add(token); types.Add(1); }                                                          // normal
            }

            foreach (var merge in model.GetProperty("merges").EnumerateArray())
                merges.Add(merge.ValueKind == JsonValueKind.Array ? $"{merge[0].GetString()} {merge[1].GetString()}" : merge.GetString()!);
            if (root.TryGetProperty("pre_tokenizer", out var preTok) && preTok.ValueKind == JsonValueKind.Object
                && preTok.GetProperty("type").GetString() != "ByteLevel")
                throw new NotSupportedException("tokenizer.json: only a ByteLevel pre-tokenizer is converted (as gpt-2).");
        }
        else
        {
            // No tokenizer: one byte-level character a token (id i is byte i), enough for llama.cpp to tokenize "\n" and detokenize.
            var chars = ByteLevelChars();
            for (int i = 0; i < vocabSize; i++)
            {
                tokens.Add(i < 256 ? chars[i] : $"[PAD{i}]");
                types.Add(i < 256 ? 1 : 5);
            }
        }

        kv.Add(new("tokenizer.ggml.model", GgufValueType.String, "gpt2"));
        kv.Add(new("tokenizer.ggml.pre", GgufValueType.String, pre));
        kv.Add(new("tokenizer.ggml.tokens", GgufValueType.Array, tokens, GgufValueType.String));
        kv.Add(new("tokenizer.ggml.token_type", GgufValueType.Array, types, GgufValueType.Int32));
        kv.Add(new("tokenizer.ggml.merges", GgufValueType.Array, merges, GgufValueType.String));
        foreach (var (hf, gguf) in new[] { ("bos_token_id", "bos_token_id"), ("eos_token_id", "eos_token_id"), ("pad_token_id", "padding_token_id") })
        {
            if (config.TryGetProperty(hf, out var v) && v.ValueKind == JsonValueKind.Number && v.GetInt32() is var id and >= 0 && id < vocabSize)
                kv.Add(new($"tokenizer.ggml.{gguf}", GgufValueType.UInt32, (uint)id));
        }
    }

    /// <summary>GPT-2's byte-to-unicode table: printable bytes stand for themselves, the others for U+0100 on.</summary>
    public static string[] ByteLevelChars()
    {
        var result = new string[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            result[b] = char.ConvertFromUtf32(printable ? b : next++);
        }

        return result;
    }

    private static int? Int(JsonElement config, params string[] keys)
    {
        foreach (var k in keys)
            if (config.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number) return v.GetInt32();
        return null;
    }

    private static double? Double(JsonElement config, params string[] keys)
    {
        foreach (var k in keys)
            if (config.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number) return v.GetDouble();
        return null;
    }
}

/// <summary>A safetensors tensor read as fp32, with its row-major shape.</summary>
public sealed record SafetensorsTensor(long[] Shape, float[] Data);

/// <summary>Reads every tensor of a folder's *.safetensors files (F32, F16, BF16) in file order.</summary>
public static class SafetensorsReader
{
    public static List<KeyValuePair<string, SafetensorsTensor>> ReadFolderOrdered(string folder)
    {
        var result = new List<KeyValuePair<string, SafetensorsTensor>>();
        foreach (var file in Directory.GetFiles(folder, "*.safetensors").Where(f => !Path.GetFileName(f).StartsWith("expected", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(file);
            long headerLength = BitConverter.ToInt64(bytes, 0);
            using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
            long dataStart = 8 + headerLength;
            var entries = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
                .OrderBy(p => p.Value.GetProperty("data_offsets")[0].GetInt64()).ToList();
            foreach (var p in entries)
            {
                string dtype = p.Value.GetProperty("dtype").GetString()!;
                long[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                long begin = dataStart + p.Value.GetProperty("data_offsets")[0].GetInt64();
                long count = shape.Aggregate(1L, (a, d) => a * d);
                var data = new float[count];
                for (long i = 0; i < count; i++)
                {
                    data[i] = dtype switch
                    {
                        "F32" => BitConverter.ToSingle(bytes, (int)(begin + 4 * i)),
                        "F16" => (float)BitConverter.ToHalf(bytes, (int)(begin + 2 * i)),
                        "BF16" => GgufWriter.FromBf16(BitConverter.ToUInt16(bytes, (int)(begin + 2 * i))),
                        _ => throw new NotSupportedException($"{file}: tensor {p.Name} has dtype {dtype}."),
                    };
                }

                result.Add(new(p.Name, new SafetensorsTensor(shape, data)));
            }
        }

        return result;
    }

    public static OrderedTensors ReadFolder(string folder) => new(ReadFolderOrdered(folder));
}

/// <summary>Tensors by name, enumerated in file order.</summary>
public sealed class OrderedTensors : IEnumerable<KeyValuePair<string, SafetensorsTensor>>
{
    private readonly List<KeyValuePair<string, SafetensorsTensor>> _items;
    private readonly Dictionary<string, SafetensorsTensor> _byName;

    public OrderedTensors(List<KeyValuePair<string, SafetensorsTensor>> items)
    {
        _items = items;
        _byName = items.ToDictionary(p => p.Key, p => p.Value);
    }

    public SafetensorsTensor this[string name] => _byName[name];

    public IEnumerator<KeyValuePair<string, SafetensorsTensor>> GetEnumerator() => _items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
