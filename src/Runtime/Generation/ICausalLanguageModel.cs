using MambaGen.Backends;
using MambaGen.Ops;
using static TorchSharp.torch;

namespace MambaGen.Generation;

/// <summary>A model the <see cref="GenerationEngine"/> can drive: one varlen step over the mamba state cache.</summary>
public interface ICausalLanguageModel
{
    int VocabSize { get; }

    Device Device { get; }

    /// <summary>Runs one step and returns the logits at each request's last scheduled token.</summary>
    /// <param name="inputIds">[num_actual_tokens] int64 on <see cref="Device"/>: the requests' tokens back to back.</param>
    /// <param name="step">The batch: decodes first, then prefills, with their state blocks.</param>
    /// <returns>[num_reqs, vocab].</returns>
    Tensor Forward(Tensor inputIds, CommonAttentionMetadata step);

    /// <summary>Greedy picks of this model's logits on its device (one kernel where the fused ops have it); null: the sampler's own calls.</summary>
    IGreedyOps? Greedy => null;

    /// <summary>The most positions a sequence may hold (a prompt plus its MaxTokens); null when unbounded.</summary>
    int? MaxSequenceLength => null;

    /// <summary>Where <see cref="MaxSequenceLength"/> comes from, for error messages (e.g. a config key).</summary>
    string MaxSequenceLengthSource => "the model";
}
