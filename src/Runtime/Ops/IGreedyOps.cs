using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// Greedy picks of a step's logits on their device, so a greedy step copies two numbers a row to the host: each row's
/// argmax (the first of equal maxima, as <c>argmax</c>) and whether the row can be sampled at all (no NaN, no +Inf,
/// not only -Inf: what the sampler's <c>isfinite(amax)</c> check says). Optional in an op set: without it the sampler
/// composes the same from TorchSharp calls.
/// </summary>
public interface IGreedyOps
{
    /// <summary>[rows, 2] int64 on the logits' device (token, 1 or 0), or null where this set does not take these logits.</summary>
    /// <param name="logits">[rows, vocab].</param>
    Tensor? Pick(Tensor logits);

    /// <summary>
    /// <see cref="Pick"/> with the copy to the host queued behind it instead of waited for, so the host can queue the
    /// next decode step (from <see cref="PendingPicks.Tokens"/>) before it reads these; null where this set does not
    /// take these logits or cannot wait for one copy alone.
    /// </summary>
    PendingPicks? PickAsync(Tensor logits) => null;
}
