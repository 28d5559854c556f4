using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Attention;
using MambaGen.Backends;
using MambaGen.Ops;
using MambaGen.Tests.Layers;
using MambaGen.Tests.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Attention;

/// <summary>
/// The paged attention layer against a dense causal attention written out naively over each whole sequence: chunked
/// prefills, mixed prefill + decode steps, several requests with scattered blocks in a cache full of garbage.
/// </summary>
public class PagedAttentionTests
{
    private const int Hidden = 24;
    private const int BlockSize = 4;
    private const int NumBlocks = 16;

    public static TheoryData<string> Variants => new() { "gqa-partial-rope-qknorm-scale", "mha-full-rope", "gqa-nope" };

    private static SelfAttentionOptions Options(string variant) => variant switch
    {
        "gqa-partial-rope-qknorm-scale" => new() { HiddenSize = Hidden, NumHeads = 4, NumKvHeads = 2, HeadDim = 8, QkNorm = true, NormEps = 1e-5, RotaryDim = 4, RopeTheta = 1e4, Scale = 0.2, OutputProjectionName = "out_proj" },
        "mha-full-rope" => new() { HiddenSize = Hidden, NumHeads = 3, NumKvHeads = 3, HeadDim = 8, RotaryDim = 8, RopeTheta = 1e6, Bias = true },
        "gqa-nope" => new() { HiddenSize = Hidden, NumHeads = 6, NumKvHeads = 2, HeadDim = 4 },
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    private static SelfAttention Layer(string variant)
    {
        var layer = new SelfAttention("self_attn", Options(variant), ScalarType.Float32);
        MixerUnderTest.SeedWeights(layer, 7, scale: 0.4);
        return layer;
    }

    /// <summary>A cache full of noise, as reused blocks would be.</summary>
    private static Tensor DirtyCache(SelfAttention layer) =>
        torch.randn(new long[] { NumBlocks, 2, BlockSize, layer.Options.NumKvHeads, layer.Options.HeadDim }, generator: new Generator(3)) * 50;

    [Theory]
    [MemberData(nameof(Variants))]
    public void Mixed_prefill_and_decode_steps_over_scattered_dirty_blocks_match_dense_causal_attention(string variant)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var layer = Layer(variant);
        using var cache = DirtyCache(layer);
        layer.BindKvCache(cache);
        var lengths = new Dictionary<string, int> { ["a"] = 13, ["b"] = 6, ["c"] = 9 };
        // Blocks are handed out scattered, as a pool that has seen other requests would.
        var tables = new Dictionary<string, int[]> { ["a"] = new[] { 9, 2, 14, 5 }, ["b"] = new[] { 0, 11 }, ["c"] = new[] { 7, 3, 12 } };
        var steps = new[]
        {
            new[] { ("a", 6), ("b", 5) },
            new[] { ("b", 1), ("a", 5), ("c", 3) },
            new[] { ("a", 1), ("c", 6) },
            new[] { ("a", 1), ("c", 0) },
        };
        RunAndCompare(layer, lengths, tables, steps);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Fresh_prefills_of_one_length_attend_as_one_batch_beside_resumed_ones_and_match_dense_causal_attention(string variant)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var layer = Layer(variant);
        using var cache = DirtyCache(layer);
        layer.BindKvCache(cache);
        var lengths = new Dictionary<string, int> { ["a"] = 6, ["b"] = 6, ["c"] = 6, ["d"] = 3, ["e"] = 9, ["f"] = 5 };
        var tables = new Dictionary<string, int[]>
        {
            ["a"] = new[] { 9, 2 }, ["b"] = new[] { 0, 11 }, ["c"] = new[] { 7, 3 }, ["d"] = new[] { 15 }, ["e"] = new[] { 4, 13, 1 }, ["f"] = new[] { 6, 8 },
        };
        var steps = new[]
        {
            // a, b, c: one run of three; d and e: runs of one each.
            new[] { ("a", 5), ("b", 5), ("c", 5), ("d", 3), ("e", 4) },
            // Decodes, a resumed prefill between two fresh... f is fresh, e resumes.
            new[] { ("a", 1), ("b", 1), ("e", 5), ("f", 5) },
            new[] { ("c", 1) },
        };
        var runs = RunAndCompare(layer, lengths, tables, steps);
        Assert.Equal(new[] { new FreshPrefillRun(0, 3, 5, 0), new FreshPrefillRun(3, 1, 3, 15), new FreshPrefillRun(4, 1, 4, 18) }, runs[0]);
        Assert.Equal(new[] { new FreshPrefillRun(1, 1, 5, 7) }, runs[1]);
        Assert.Empty(runs[2]);
    }

    /// <summary>Runs the steps through the layer and compares each request's outputs with dense causal attention over
    /// its whole sequence; returns each step's fresh prefill runs.</summary>
    private static List<FreshPrefillRun[]> RunAndCompare(SelfAttention layer, Dictionary<string, int> lengths, Dictionary<string, int[]> tables, (string, int)[][] steps)
    {
        var inputs = lengths.ToDictionary(kv => kv.Key, kv => torch.randn(new long[] { kv.Value, Hidden }, generator: new Generator((ulong)kv.Value + (ulong)kv.Key[0])));
        var outputs = lengths.Keys.ToDictionary(k => k, _ => new List<Tensor>());
        var computed = lengths.Keys.ToDictionary(k => k, _ => 0);
        var runs = new List<FreshPrefillRun[]>();
        foreach (var step in steps)
        {
            var rows = step.Where(s => s.Item2 > 0).ToArray();
            var common = new CommonAttentionMetadata(rows.Select(r => new ScheduledRequest(computed[r.Item1], r.Item2, 0, r.Item1)).ToArray());
            using var metadata = new AttentionMetadataBuilder(CPU, BlockSize).Build(common, rows.Select(r => tables[r.Item1]).ToArray());
            runs.Add(metadata.FreshPrefillRuns.ToArray());
            var hidden = torch.cat(rows.Select(r => inputs[r.Item1].narrow(0, computed[r.Item1], r.Item2)).ToArray(), 0);
            var y = layer.Forward(hidden, metadata, MambaOps.Reference.Linear);
            int at = 0;
            foreach (var (id, n) in rows)
            {
                outputs[id].Add(y.narrow(0, at, n));
                at += n;
                computed[id] += n;
            }
        }

        foreach (var (id, n) in lengths)
        {
            Assert.Equal(n, computed[id]);
            var expected = DenseCausalAttention(layer, inputs[id]);
            var actual = torch.cat(outputs[id].ToArray(), 0);
            OpsAssert.Close(expected, actual, 1e-5, 1e-5, $"request {id}");
        }

        return runs;
    }

    [Fact]
    public void A_step_writes_only_its_own_slots()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var layer = Layer("gqa-nope");
        using var cache = DirtyCache(layer);
        var before = cache.clone();
        layer.BindKvCache(cache);
        // 3 computed + 3 new tokens: slots 3 (block 5), 4 and 5 (block 8).
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(3, 3, 0, "r") });
        using var metadata = new AttentionMetadataBuilder(CPU, BlockSize).Build(common, new[] { new[] { 5, 8 } });
        Assert.Equal(new long[] { 23, 32, 33 }, metadata.SlotMapping);
        layer.Forward(torch.randn(3, Hidden), metadata, MambaOps.Reference.Linear);
        var changed = cache.ne(before).sum(new long[] { 1, 3, 4 }).gt(0).nonzero();
        Assert.Equal(new long[] { 5, 3, 8, 0, 8, 1 }, changed.data<long>().ToArray());
    }

    [Fact]
    public void A_block_table_too_short_for_the_sequence_names_the_request()
    {
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(6, 1, 0, "short") });
        var e = Assert.Throws<ArgumentException>(() => new AttentionMetadataBuilder(CPU, BlockSize).Build(common, new[] { new[] { 1 } }));
        Assert.Contains("'short'", e.Message);
        Assert.Contains("need 2 attention blocks", e.Message);
    }

    [Fact]
    public void A_block_beyond_the_bound_cache_and_a_missing_cache_are_clear_errors()
    {
        using var scope = torch.NewDisposeScope();
        var layer = Layer("gqa-nope");
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 2, 0, "r") });
        using var metadata = new AttentionMetadataBuilder(CPU, BlockSize).Build(common, new[] { new[] { NumBlocks } });
        var unbound = Assert.Throws<InvalidOperationException>(() => layer.Forward(torch.randn(2, Hidden), metadata, MambaOps.Reference.Linear));
        Assert.Contains("no KV cache bound", unbound.Message);
        using var cache = DirtyCache(layer);
        layer.BindKvCache(cache);
        var beyond = Assert.Throws<ArgumentException>(() => layer.Forward(torch.randn(2, Hidden), metadata, MambaOps.Reference.Linear));
        Assert.Contains($"block {NumBlocks}", beyond.Message);
    }

    /// <summary>Attention over the whole sequence at once, with no cache, written out per head and per position.</summary>
    private static Tensor DenseCausalAttention(SelfAttention layer, Tensor x)
    {
        var o = layer.Options;
        long n = x.shape[0];
        Tensor Project(TorchSharp.Modules.Linear l, int heads) => (x.matmul(l.weight!.t()) + (l.bias ?? torch.zeros(1))).view(n, heads, o.HeadDim);
        var q = Project(layer.QProj, o.NumHeads);
        var k = Project(layer.KProj, o.NumKvHeads);
        var v = Project(layer.VProj, o.NumKvHeads);
        if (o.QkNorm)
        {
            q = q / (q.pow(2).mean(new long[] { -1 }, keepdim: true) + o.NormEps).sqrt() * layer.QNormWeight!;
            k = k / (k.pow(2).mean(new long[] { -1 }, keepdim: true) + o.NormEps).sqrt() * layer.KNormWeight!;
        }

        if (o.RotaryDim is { } rot)
        {
            q = Rotate(q, rot, o.RopeTheta);
            k = Rotate(k, rot, o.RopeTheta);
        }

        int rep = o.NumHeads / o.NumKvHeads;
        var heads = new Tensor[o.NumHeads];
        for (int h = 0; h < o.NumHeads; h++)
        {
            var qh = q.select(1, h);
            var kh = k.select(1, h / rep);
            var vh = v.select(1, h / rep);
            var scores = qh.matmul(kh.t()) * layer.Scale;
            var future = torch.ones(n, n).triu(1).to(ScalarType.Bool);
            heads[h] = scores.masked_fill(future, double.NegativeInfinity).softmax(-1).matmul(vh);
        }

        var attn = torch.stack(heads, 1).view(n, o.NumHeads * o.HeadDim);
        return attn.matmul(layer.OProj.weight!.t()) + (layer.OProj.bias ?? torch.zeros(1));
    }

    /// <summary>RoPE pair by pair: channel c and c + rot/2 turn by position · θ^(-2c/rot).</summary>
    private static Tensor Rotate(Tensor x, int rot, double theta)
    {
        var y = x.clone();
        int half = rot / 2;
        for (long p = 0; p < x.shape[0]; p++)
        {
            for (int c = 0; c < half; c++)
            {
                double angle = p * Math.Pow(theta, -2.0 * c / rot);
                var a = x[p, TensorIndex.Colon, c];
                var b = x[p, TensorIndex.Colon, c + half];
                y[p, TensorIndex.Colon, c] = a * Math.Cos(angle) - b * Math.Sin(angle);
                y[p, TensorIndex.Colon, c + half] = b * Math.Cos(angle) + a * Math.Sin(angle);
            }
        }

        return y;
    }
}
