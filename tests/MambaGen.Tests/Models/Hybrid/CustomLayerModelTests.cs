using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Attention;
using MambaGen.Backends;
using MambaGen.Generation;
using MambaGen.Layers;
using MambaGen.Models.Hybrid;
using MambaGen.Tests.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Tests.Models.Hybrid;

/// <summary>A user's declared layer, registered for a layer-type name, placed and run by the hybrid model and engine.</summary>
public class CustomLayerModelTests
{
    private const int Hidden = 16;

    private static readonly HybridLayerRegistry Registry =
        HybridLayerRegistry.BuiltIn.With("decaying_sum", c => new DecayingSum(c.Name, c.Engine, c.Config.HiddenSize), checkpointName: "sum");

    private static HybridModelConfig Config(params string[] layerTypes) => new()
    {
        SourcePath = "custom hybrid (built in code)",
        ModelType = "custom_hybrid",
        HiddenSize = Hidden,
        VocabSize = 30,
        LayerTypes = layerTypes,
        NormEps = 1e-5,
        TieWordEmbeddings = true,
        MaxPositionEmbeddings = 128,
        Attention = new SelfAttentionOptions { HiddenSize = Hidden, NumHeads = 4, NumKvHeads = 2, HeadDim = 4, RotaryDim = 4 },
        MlpIntermediateSize = 24,
        FusedMlp = false,
        Names = new HybridCheckpointNames("norm", "input_layernorm", "post_attention_layernorm", "mlp", new Dictionary<string, string> { [HybridLayerTypes.Attention] = "self_attn" }),
    };

    [Fact]
    public void A_registered_layer_type_is_built_where_the_config_names_it_and_generates_alike_batched_chunked_and_alone()
    {
        using var model = HybridLanguageModel.Create(Config("decaying_sum", HybridLayerTypes.Attention, "decaying_sum"), layers: Registry);
        MixerUnderTest.SeedWeights(model, 4, scale: 0.5);
        var names = model.state_dict().Keys.ToArray();
        Assert.Contains("model.layers.0.sum.proj.weight", names);
        Assert.Contains("model.layers.1.self_attn.q_proj.weight", names);
        Assert.Contains("model.layers.2.sum.proj.weight", names);
        var layout = model.PlanCache();
        Assert.Equal(new[] { "model.layers.0.sum", "model.layers.2.sum" }, layout.Groups.Where(g => !g.IsAttention).SelectMany(g => g.LayerNames).ToArray());
        Assert.All(model.MambaLayers, l => Assert.Equal("LINEAR_ATTN", l.GetAttnBackend().Name));

        var prompts = new[] { new[] { 1, 2, 3, 4, 5, 6, 7 }, new[] { 8, 9 }, new[] { 10, 11, 12, 13 } };
        HybridGeneration.AssertBatchedEqualsAlone(model, prompts, 6, 16, new SchedulerOptions(MaxNumBatchedTokens: 5));
    }

    [Fact]
    public void A_registered_layer_runs_side_by_side_with_attention_and_generates_alike_batched_and_alone()
    {
        string sideBySide = HybridLayerTypes.SideBySide(HybridLayerTypes.Attention, "decaying_sum");
        using var model = HybridLanguageModel.Create(Config(sideBySide, "decaying_sum"), layers: Registry);
        MixerUnderTest.SeedWeights(model, 6, scale: 0.5);
        Assert.Equal(2, model.Layers[0].Mixers.Count);
        Assert.Equal(new[] { "model.layers.0.sum", "model.layers.1.sum" }, model.MambaLayers.Select(l => l.GetName()).ToArray());
        Assert.Equal(new[] { "model.layers.0.self_attn" }, model.AttentionLayers.Select(l => l.GetName()).ToArray());
        var prompts = new[] { new[] { 1, 2, 3, 4, 5, 6, 7 }, new[] { 8, 9 }, new[] { 10, 11, 12, 13 } };
        HybridGeneration.AssertBatchedEqualsAlone(model, prompts, 6, 16, new SchedulerOptions(MaxNumBatchedTokens: 5));
    }

    [Fact]
    public void A_layer_type_with_the_side_by_side_separator_cannot_be_registered()
    {
        var e = Assert.Throws<ArgumentException>(() => HybridLayerRegistry.BuiltIn.With("sum+more", c => new DecayingSum(c.Name, c.Engine, c.Config.HiddenSize)));
        Assert.Contains("'sum+more'", e.Message);
    }

    [Fact]
    public void A_layer_type_nobody_registered_is_refused_naming_it_and_the_known_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => HybridLanguageModel.Create(Config(HybridLayerTypes.Attention, "decaying_sum")));
        Assert.Contains("'decaying_sum'", e.Message);
        Assert.Contains("'attention', 'mamba2', 'mlp', 'short_conv'", e.Message);
    }
}

/// <summary>A user's recurrent layer: s_t = s_{t-1}/2 + x_t per request, y_t = proj(s_t).</summary>
[MambaLayer("linear_attention")]
public sealed partial class DecayingSum : MambaBase, IMambaMixer
{
    private readonly Linear proj;

    public DecayingSum(string name, EngineConfig config, int hidden)
        : base(name, config)
    {
        HiddenSize = hidden;
        proj = nn.Linear(hidden, hidden, hasBias: false, dtype: config.Model.Dtype);
        RegisterComponents();
    }

    public int HiddenSize { get; }

    [StateTensor]
    public (int, int) Sum => (1, HiddenSize);

    public Tensor Forward(Tensor hidden, MambaAttentionMetadata metadata)
    {
        using var scope = torch.NewDisposeScope();
        var rows = new List<Tensor>();
        for (int i = 0; i < metadata.NumReqs; i++)
        {
            int start = metadata.QueryStartLoc[i], block = metadata.StateIndices[i];
            bool resume = i < metadata.NumDecodes || metadata.HasInitialStatesP[i - metadata.NumDecodes];
            var s = resume ? SumTensor[block, 0].clone() : torch.zeros(HiddenSize, dtype: hidden.dtype);
            for (int t = start; t < metadata.QueryStartLoc[i + 1]; t++)
            {
                s = s * 0.5 + hidden[t];
                rows.Add(s);
            }

            SumTensor[block, 0] = s;
        }

        return proj.forward(torch.stack(rows, 0)).MoveToOuterDisposeScope();
    }
}
