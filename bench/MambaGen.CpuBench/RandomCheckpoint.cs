using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace MambaGen.CpuBench;

/// <summary>
/// Writes a HuggingFace-layout mamba / mamba2 checkpoint (config.json + model.safetensors, fp32, no tokenizer) with
/// random weights, initialised the way the models are (weights ~ N(0, 0.02), norms 1, A_log = log(1..16), D = 1,
/// dt bias the inverse softplus of a dt in [0.001, 0.1]), so a model of a real size can be timed without its weights.
/// </summary>
public static class RandomCheckpoint
{
    public static void Write(string folder, string modelType, int hidden, int layers, int vocab, int seed = 0)
    {
        Directory.CreateDirectory(folder);
        var rng = new Random(seed);
        int inner = 2 * hidden, kernel = 4;
        var tensors = new List<(string Name, long[] Shape, float[] Data)>();
        float[] Normal(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(0.02 * Gaussian(rng))).ToArray();
        float[] Fill(long n, Func<int, float> f) => Enumerable.Range(0, (int)n).Select(f).ToArray();
        float DtBias() { double dt = Math.Exp(rng.NextDouble() * (Math.Log(0.1) - Math.Log(0.001)) + Math.Log(0.001)); return (float)(dt + Math.Log(1 - Math.Exp(-dt))); }

        tensors.Add(("backbone.embeddings.weight", [vocab, hidden], Normal((long)vocab * hidden)));
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = modelType, ["hidden_size"] = hidden, ["num_hidden_layers"] = layers, ["vocab_size"] = vocab,
            ["conv_kernel"] = kernel, ["expand"] = 2, ["hidden_act"] = "silu", ["layer_norm_epsilon"] = 1e-5,
            ["residual_in_fp32"] = true, ["tie_word_embeddings"] = true, ["use_bias"] = false, ["use_conv_bias"] = true,
            ["bos_token_id"] = null, ["eos_token_id"] = null, ["pad_token_id"] = 0, ["initializer_range"] = 0.02,
            ["rescale_prenorm_residual"] = false, ["use_cache"] = true, ["time_step_floor"] = 1e-4, ["time_step_max"] = 0.1, ["time_step_min"] = 0.001,
        };
        if (modelType == "mamba")
        {
            int state = 16, dtRank = (hidden + 15) / 16;
            config["state_size"] = state; config["intermediate_size"] = inner; config["time_step_rank"] = dtRank;
            config["time_step_scale"] = 1.0; config["time_step_init_scheme"] = "random"; config["use_mambapy"] = false;
            for (int l = 0; l < layers; l++)
            {
                string p = $"backbone.layers.{l}.mixer.";
                tensors.Add(($"backbone.layers.{l}.norm.weight", [hidden], Fill(hidden, _ => 1f)));
                tensors.Add((p + "in_proj.weight", [2 * inner, hidden], Normal(2L * inner * hidden)));
                tensors.Add((p + "conv1d.weight", [inner, 1, kernel], Normal((long)inner * kernel).Select(v => v * 10).ToArray()));
                tensors.Add((p + "conv1d.bias", [inner], Fill(inner, _ => 0f)));
                tensors.Add((p + "x_proj.weight", [dtRank + 2 * state, inner], Normal((long)(dtRank + 2 * state) * inner)));
                tensors.Add((p + "dt_proj.weight", [inner, dtRank], Normal((long)inner * dtRank)));
                tensors.Add((p + "dt_proj.bias", [inner], Fill(inner, _ => DtBias())));
                tensors.Add((p + "A_log", [inner, state], Fill((long)inner * state, i => MathF.Log(1 + i % state))));
                tensors.Add((p + "D", [inner], Fill(inner, _ => 1f)));
                tensors.Add((p + "out_proj.weight", [hidden, inner], Normal((long)hidden * inner)));
            }
        }
        else
        {
            int state = 128, headDim = 64, heads = inner / headDim, groups = 1, conv = inner + 2 * groups * state;
            config["state_size"] = state; config["head_dim"] = headDim; config["num_heads"] = heads; config["n_groups"] = groups;
            config["chunk_size"] = 256; config["norm_before_gate"] = false; config["rms_norm"] = true; config["time_step_rank"] = (hidden + 15) / 16;
            config["time_step_limit"] = new object[] { 0.0, new Dictionary<string, string> { ["__float__"] = "Infinity" } };
            for (int l = 0; l < layers; l++)
            {
                string p = $"backbone.layers.{l}.mixer.";
                tensors.Add(($"backbone.layers.{l}.norm.weight", [hidden], Fill(hidden, _ => 1f)));
                tensors.Add((p + "in_proj.weight", [2 * inner + 2 * groups * state + heads, hidden], Normal((long)(2 * inner + 2 * groups * state + heads) * hidden)));
                tensors.Add((p + "conv1d.weight", [conv, 1, kernel], Normal((long)conv * kernel).Select(v => v * 10).ToArray()));
                tensors.Add((p + "conv1d.bias", [conv], Fill(conv, _ => 0f)));
                tensors.Add((p + "dt_bias", [heads], Fill(heads, _ => DtBias())));
                tensors.Add((p + "A_log", [heads], Fill(heads, _ => MathF.Log(1 + 15 * (float)rng.NextDouble()))));
                tensors.Add((p + "D", [heads], Fill(heads, _ => 1f)));
                tensors.Add((p + "norm.weight", [inner], Fill(inner, _ => 1f)));
                tensors.Add((p + "out_proj.weight", [hidden, inner], Normal((long)hidden * inner)));
            }
        }

        tensors.Add(("backbone.norm_f.weight", [hidden], Fill(hidden, _ => 1f)));
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
        WriteSafetensors(Path.Combine(folder, "model.safetensors"), tensors);
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static void WriteSafetensors(string path, List<(string Name, long[] Shape, float[] Data)> tensors)
    {
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        foreach (var t in tensors)
        {
            header[t.Name] = new Dictionary<string, object> { ["dtype"] = "F32", ["shape"] = t.Shape, ["data_offsets"] = new[] { offset, offset + 4L * t.Data.Length } };
            offset += 4L * t.Data.Length;
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;
        using var f = new BinaryWriter(File.Create(path));
        f.Write((long)(json.Length + pad));
        f.Write(json);
        for (int i = 0; i < pad; i++) f.Write((byte)' ');
        foreach (var t in tensors)
        {
            var bytes = new byte[4 * t.Data.Length];
            Buffer.BlockCopy(t.Data, 0, bytes, 0, bytes.Length);
            f.Write(bytes);
        }
    }
}
