using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen;
using MambaGen.Cache;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models;
using MambaGen.Tests.Layers;
using static TorchSharp.torch;

namespace MambaGen.Tests.Generation;

/// <summary>Small language models built in code with seeded weights, and helpers to run the engine on them.</summary>
internal static class TinyLanguageModel
{
    public const int VocabSize = 40;

    public static TheoryData<string> Kinds => new() { "mamba1", "mamba2" };

    public static MambaLanguageModel Create(string kind = "mamba2", long seed = 99)
    {
        MambaCheckpointConfig config = kind switch
        {
            "mamba2" => new Mamba2CheckpointConfig
            {
                SourcePath = "tiny-mamba2 (built in code)", ModelType = Mamba2CheckpointConfig.ModelTypeName,
                HiddenSize = 16, NumHiddenLayers = 2, VocabSize = VocabSize, StateSize = 8, Expand = 2, ConvKernel = 4,
                IntermediateSize = 32, TimeStepRank = 1, UseBias = false, UseConvBias = true, LayerNormEpsilon = 1e-5,
                ResidualInFp32 = true, TieWordEmbeddings = true, HiddenAct = "silu", PadTokenId = null, BosTokenId = null,
                EosTokenIds = Array.Empty<int>(),
                NumHeads = 4, HeadDim = 8, NGroups = 2, ChunkSize = 4, TimeStepLimitMin = 0, TimeStepLimitMax = double.PositiveInfinity,
                RmsNorm = true, NormBeforeGate = false,
            },
            "mamba1" => new Mamba1CheckpointConfig
            {
                SourcePath = "tiny-mamba1 (built in code)", ModelType = Mamba1CheckpointConfig.ModelTypeName,
                HiddenSize = 16, NumHiddenLayers = 2, VocabSize = VocabSize, StateSize = 8, Expand = 2, ConvKernel = 4,
                IntermediateSize = 32, TimeStepRank = 2, UseBias = true, UseConvBias = true, LayerNormEpsilon = 1e-5,
                ResidualInFp32 = true, TieWordEmbeddings = false, HiddenAct = "silu", PadTokenId = null, BosTokenId = null,
                EosTokenIds = Array.Empty<int>(),
            },
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown model kind."),
        };
        var model = MambaLanguageModel.Create(config, new EngineConfig(new ModelConfig(config.ModelType, ScalarType.Float32, 128)));
        // Large enough weights that the logits spread out and sampling has real choices.
        MixerUnderTest.SeedWeights(model, seed, scale: 0.5);
        model.eval();
        return model;
    }

    /// <summary>Seeded prompts of the given lengths.</summary>
    public static int[][] Prompts(long seed, params int[] lengths)
    {
        var random = new Random((int)seed);
        return lengths.Select(n => Enumerable.Range(0, n).Select(_ => random.Next(VocabSize)).ToArray()).ToArray();
    }

    /// <summary>Runs every prompt to the end in one engine and returns each one's outputs, in prompt order.</summary>
    public static RequestOutput[][] Run(MambaLanguageModel model, int numBlocks, IReadOnlyList<int[]> prompts, IReadOnlyList<SamplingParams> sampling, SchedulerOptions? options = null) =>
        Run(model, model.Mixers, numBlocks, prompts, sampling, options);

    /// <summary>As above for any model over the state cache of <paramref name="mixers"/> (a wrapper of a tiny model).</summary>
    public static RequestOutput[][] Run(ICausalLanguageModel model, IReadOnlyList<MambaBase> mixers, int numBlocks, IReadOnlyList<int[]> prompts,
        IReadOnlyList<SamplingParams> sampling, SchedulerOptions? options = null)
    {
        using var cache = MambaStateCache.Allocate(mixers, numBlocks, model.Device);
        var engine = new GenerationEngine(model, cache, options);
        var ids = prompts.Select((p, i) => engine.AddRequest(p, sampling[i])).ToArray();
        var outputs = ids.ToDictionary(id => id, _ => new List<RequestOutput>());
        foreach (var o in engine.Run())
        {
            outputs[o.RequestId].Add(o);
        }

        Assert.Equal(numBlocks, cache.Blocks.NumFreeBlocks);
        return ids.Select(id => outputs[id].ToArray()).ToArray();
    }

    public static int[] Alone(MambaLanguageModel model, int[] prompt, SamplingParams sampling) =>
        Tokens(Run(model, 1, new[] { prompt }, new[] { sampling })[0]);

    public static int[] Tokens(IEnumerable<RequestOutput> outputs) => outputs.Select(o => o.Token).ToArray();
}
