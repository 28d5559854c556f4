using System.Collections.Generic;

namespace MambaGen.Checkpoints;

/// <summary>config.json of model_type "mamba" (transformers' MambaConfig).</summary>
public sealed record Mamba1CheckpointConfig : MambaCheckpointConfig
{
    public const string ModelTypeName = "mamba";

    internal static Mamba1CheckpointConfig FromJson(ConfigJsonReader json)
    {
        int hidden = json.RequireInt("hidden_size");
        int expand = json.OptionalInt("expand", 2);
        return new Mamba1CheckpointConfig
        {
            SourcePath = json.Path,
            ModelType = ModelTypeName,
            HiddenSize = hidden,
            NumHiddenLayers = json.RequireInt("num_hidden_layers"),
            VocabSize = json.RequireInt("vocab_size"),
            StateSize = json.RequireInt("state_size"),
            Expand = expand,
            ConvKernel = json.OptionalInt("conv_kernel", 4),
            // transformers computes expand * hidden_size; a saved intermediate_size overrides it, as in PretrainedConfig.
            IntermediateSize = json.Has("intermediate_size") ? json.RequireInt("intermediate_size") : DefaultIntermediateSize(json, expand, hidden),
            TimeStepRank = json.IntOrAuto("time_step_rank", AutoTimeStepRank(hidden)),
            UseBias = json.OptionalBool("use_bias", true),
            UseConvBias = json.OptionalBool("use_conv_bias", true),
            LayerNormEpsilon = json.OptionalDouble("layer_norm_epsilon", 1e-5),
            ResidualInFp32 = json.OptionalBool("residual_in_fp32", true),
            // MambaConfig leaves it to PretrainedConfig, whose default is true.
            TieWordEmbeddings = json.OptionalBool("tie_word_embeddings", true),
            HiddenAct = json.OptionalString("hidden_act", "silu"),
            PadTokenId = json.OptionalNullableInt("pad_token_id", 0),
            BosTokenId = json.OptionalNullableInt("bos_token_id", 0),
            EosTokenIds = json.OptionalIntList("eos_token_id", new[] { 0 }),
        };
    }

    private protected override void Check(List<CheckpointProblem> problems)
    {
        base.Check(problems);
        RequirePositive(problems, ("time_step_rank", TimeStepRank));
        if (problems.Count > 0) return;
        // The widths the mixer's projections take, each one tensor dimension.
        CheckedSize(problems, "intermediate_size", "2 * intermediate_size (in_proj)", () => checked(2L * IntermediateSize));
        CheckedSize(problems, "state_size", "time_step_rank + 2 * state_size (x_proj)", () => checked(TimeStepRank + 2L * StateSize));
    }
}
