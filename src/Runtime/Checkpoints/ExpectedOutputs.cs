using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using static TorchSharp.torch;

namespace MambaGen.Checkpoints;

/// <summary>
/// A reference run stored beside a checkpoint (<c>expected.safetensors</c>): one full forward
/// (<see cref="InputIds"/> -> <see cref="Logits"/>) and one greedy generation
/// (<see cref="GenPrompt"/> -> <see cref="GenTokens"/>, with the <see cref="GenLogits"/> that picked each new token).
/// Shapes and dtypes are checked on load; the tensors are CPU tensors owned by this object.
/// </summary>
public sealed class ExpectedOutputs : IDisposable
{
    public const string FileName = "expected.safetensors";

    private ExpectedOutputs(string path, Tensor inputIds, Tensor logits, Tensor genPrompt, Tensor genTokens, Tensor genLogits)
    {
        SourcePath = path;
        InputIds = inputIds;
        Logits = logits;
        GenPrompt = genPrompt;
        GenTokens = genTokens;
        GenLogits = genLogits;
    }

    public string SourcePath { get; }

    /// <summary>int64 [B, T].</summary>
    public Tensor InputIds { get; }

    /// <summary>float32 [B, T, V]: the logits of one full forward over <see cref="InputIds"/>.</summary>
    public Tensor Logits { get; }

    /// <summary>int64 [B, P].</summary>
    public Tensor GenPrompt { get; }

    /// <summary>int64 [B, P + N]: the prompt followed by N greedy tokens.</summary>
    public Tensor GenTokens { get; }

    /// <summary>float32 [B, N, V]: <c>GenLogits[:, k]</c> picked token <c>P + k</c>.</summary>
    public Tensor GenLogits { get; }

    /// <summary>N: the number of generated tokens.</summary>
    public long NewTokenCount => GenLogits.shape[1];

    /// <summary>Reads <c>expected.safetensors</c> from a folder (or the file itself).</summary>
    /// <param name="folderOrFile">A checkpoint folder or the path of the file.</param>
    /// <param name="vocabSize">When given, the logits' last dimension must equal it.</param>
    public static ExpectedOutputs Load(string folderOrFile, int? vocabSize = null)
    {
        string path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        var file = SafetensorsFile.Open(path);
        var problems = new List<CheckpointProblem>();
        var specs = new (string Name, ScalarType Dtype, int Rank)[]
        {
            ("input_ids", ScalarType.Int64, 2), ("logits", ScalarType.Float32, 3),
            ("gen_prompt", ScalarType.Int64, 2), ("gen_tokens", ScalarType.Int64, 2), ("gen_logits", ScalarType.Float32, 3),
        };
        foreach (var (name, dtype, rank) in specs)
        {
            if (!file.Tensors.TryGetValue(name, out var info))
                problems.Add(new CheckpointProblem(path, name, $"missing; expected {dtype} of rank {rank}"));
            else if (info.Dtype != dtype || info.Shape.Length != rank)
                problems.Add(new CheckpointProblem(path, name, $"expected {dtype} of rank {rank}, found {info.SafetensorsDtype} {info.ShapeText}"));
        }
        foreach (var name in file.Tensors.Keys.Where(n => specs.All(s => s.Name != n)))
            problems.Add(new CheckpointProblem(path, name, "unexpected tensor"));
        if (problems.Count > 0) throw new CheckpointException(problems);

        long[] Shape(string name) => file.Tensors[name].Shape;
        void Expect(string name, long[] expected)
        {
            if (!Shape(name).SequenceEqual(expected))
                problems.Add(new CheckpointProblem(path, name,
                    $"shape {SafetensorsTensorInfo.FormatShape(Shape(name))} should be {SafetensorsTensorInfo.FormatShape(expected)}"));
        }
        long b = Shape("input_ids")[0], t = Shape("input_ids")[1], v = vocabSize ?? Shape("logits")[2];
        long p = Shape("gen_prompt")[1], n = Shape("gen_logits")[1];
        Expect("logits", new[] { b, t, v });
        Expect("gen_prompt", new[] { b, p });
        Expect("gen_tokens", new[] { b, p + n });
        Expect("gen_logits", new[] { b, n, v });
        if (problems.Count > 0) throw new CheckpointException(problems);

        var tensors = file.ReadAll();
        var outputs = new ExpectedOutputs(path, tensors["input_ids"], tensors["logits"], tensors["gen_prompt"], tensors["gen_tokens"], tensors["gen_logits"]);
        try
        {
            outputs.CheckValues(vocabSize ?? (int)v);
            return outputs;
        }
        catch
        {
            outputs.Dispose();
            throw;
        }
    }

    private void CheckValues(long vocabSize)
    {
        using var scope = NewDisposeScope();
        var problems = new List<CheckpointProblem>();
        foreach (var (name, ids) in new[] { ("input_ids", InputIds), ("gen_prompt", GenPrompt), ("gen_tokens", GenTokens) })
        {
            if (ids.numel() == 0) continue;
            long min = ids.min().item<long>(), max = ids.max().item<long>();
            if (min < 0 || max >= vocabSize)
                problems.Add(new CheckpointProblem(SourcePath, name, $"token ids span [{min}, {max}], outside the vocabulary [0, {vocabSize})"));
        }
        if (!GenTokens.narrow(1, 0, GenPrompt.shape[1]).eq(GenPrompt).all().item<bool>())
            problems.Add(new CheckpointProblem(SourcePath, "gen_tokens", "does not start with gen_prompt"));
        foreach (var (name, logits) in new[] { ("logits", Logits), ("gen_logits", GenLogits) })
            if (!logits.isfinite().all().item<bool>())
                problems.Add(new CheckpointProblem(SourcePath, name, "holds NaN or infinite values"));
        if (problems.Count > 0) throw new CheckpointException(problems);
    }

    public void Dispose()
    {
        InputIds.Dispose();
        Logits.Dispose();
        GenPrompt.Dispose();
        GenTokens.Dispose();
        GenLogits.Dispose();
    }
}
