using System;
using System.Globalization;
using System.IO;
using System.Linq;
using MambaGen.Models.Hybrid;
using static TorchSharp.torch;

namespace MambaGen.Cli;

/// <summary><c>mambagen info</c> for a hybrid model: its layers, the one page pool's layout and what requests cost in it.</summary>
internal static class HybridInfo
{
    public static void Write(TextWriter output, string description, HybridLanguageModel model, int requests, int? tokensOption, double? memoryGiB)
    {
        var config = model.Config;
        int tokens = tokensOption ?? Math.Min(2048, config.MaxPositionEmbeddings);
        if (tokens < 1) throw new CliInputException($"--tokens must be at least 1 (got {tokens}).");
        if (tokens > config.MaxPositionEmbeddings)
            throw new CliInputException($"--tokens {tokens} is more than the model's {config.MaxPositionEmbeddings} positions (max_position_embeddings).");
        if (memoryGiB is double m && !(m > 0 && double.IsFinite(m))) throw new CliInputException($"--cache-memory must be a positive number of GiB (got {m.ToString(CultureInfo.InvariantCulture)}).");

        output.WriteLine($"model:       {description}");
        output.WriteLine($"model type:  {config.ModelType} (hybrid), {config.LayerTypes.Count} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}, tied embeddings {(config.TieWordEmbeddings ? "yes" : "no")}, max positions {N(config.MaxPositionEmbeddings)}");
        output.WriteLine($"parameters:  {InfoCommand.Parameters(model.parameters())}");
        output.WriteLine($"eos tokens:  {(config.EosTokenIds.Count == 0 ? "none" : string.Join(", ", config.EosTokenIds))}; bos {config.BosTokenId?.ToString(CultureInfo.InvariantCulture) ?? "none"}; pad {config.PadTokenId?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
        var layout = model.PlanCache();
        output.WriteLine("layers:");
        foreach (var (layer, i) in model.Layers.Select((l, i) => (l, i)))
        {
            var types = HybridLayerTypes.MixersOf(layer.LayerType);
            foreach (var (mixer, k) in layer.Mixers.Select((m, k) => (m, k)))
            {
                string name = ((TorchSharp.torch.nn.Module)mixer.Module).GetName();
                string group = $"cache group {layout.PlaceOf(name).Group}";
                string type = types[k];
                output.WriteLine(mixer switch
                {
                    MambaLayerMixer mamba => $"  {i} {name}: {type}, mamba type {mamba.Layer.MambaType}, backend {mamba.Layer.GetAttnBackend().Name}, "
                        + $"states {string.Join(", ", mamba.Layer.GetStateShape().Select((s, j) => $"[{string.Join(", ", s)}] {mamba.Layer.GetStateDtype()[j].ToString().ToLowerInvariant()}"))}, {group}",
                    AttentionMixer attention => $"  {i} {name}: attention, {attention.Layer.Options.NumHeads} heads / {attention.Layer.Options.NumKvHeads} KV heads x {attention.Layer.Options.HeadDim}, "
                        + $"{(attention.Layer.Rope is { } rope ? $"RoPE {rope.RotaryDim}/{rope.HeadDim} dims theta {rope.Theta.ToString(CultureInfo.InvariantCulture)}" : "no positional encoding")}"
                        + $"{(attention.Layer.Options.QkNorm ? ", QK norm" : "")}, scale {attention.Layer.Scale.ToString("0.####", CultureInfo.InvariantCulture)}, {group}",
                    _ => $"  {i} {name}: {type}, {group}",
                });
            }
        }

        output.WriteLine($"page pool:   one page size {N(layout.PageSizeBytes)} bytes; attention blocks of {layout.AttentionBlockSize} tokens; "
            + $"mamba state {N(layout.MambaPageBytes)} bytes padded {layout.MambaPaddingPercent.ToString("0.##", CultureInfo.InvariantCulture)} %");
        output.WriteLine($"groups:      {layout.Groups.Count} cache group(s) of up to {layout.GroupSize} layer(s), {layout.GroupSize} raw buffer(s); a block costs {N(layout.BytesPerBlock)} bytes ({layout.GroupSize} page(s))");
        foreach (var g in layout.Groups)
        {
            output.WriteLine($"  group {g.Index}: {(g.IsAttention ? "attention" : "mamba " + g.Mamba!.MambaType)}, {string.Join(", ", g.LayerNames)}");
        }

        int blocks = layout.BlocksFor(tokens);
        long perRequest = blocks * layout.BytesPerBlock;
        output.WriteLine($"per request: {blocks} blocks for {N(tokens)} tokens, {N(perRequest)} bytes ({MiB(perRequest)})");
        output.WriteLine($"cache:       {N(perRequest * requests)} bytes ({MiB(perRequest * requests)}) for {requests} concurrent request(s) of {N(tokens)} tokens");
        if (memoryGiB is double gib)
        {
            long budget = (long)(gib * (1L << 30));
            long poolBlocks = budget / layout.BytesPerBlock;
            output.WriteLine($"budget:      {gib.ToString(CultureInfo.InvariantCulture)} GiB holds {N(poolBlocks)} blocks: {N(poolBlocks / blocks)} concurrent request(s) of {N(tokens)} tokens");
        }
    }

    private static string N(long value) => InfoCommand.N(value);

    private static string MiB(long bytes) => InfoCommand.MiB(bytes);
}
