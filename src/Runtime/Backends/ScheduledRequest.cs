namespace MambaGen.Backends;

/// <summary>
/// One row of a step's batch, as the scheduler hands it to the mamba backends (a row of vLLM's
/// <c>CommonAttentionMetadata</c>): how far the request has got, how many tokens it runs now, and which cache block
/// holds its running state.
/// </summary>
/// <param name="NumComputedTokens">Tokens the request processed in earlier steps; its stored state covers them. 0 for a new (or preempted) request.</param>
/// <param name="NumScheduledTokens">Tokens the request processes this step, at least 1.</param>
/// <param name="StateBlockId">Cache block of the request's running state, or <see cref="PadSlotId"/> for a padding row that layers must skip.</param>
/// <param name="RequestId">Optional id used in error messages.</param>
public readonly record struct ScheduledRequest(int NumComputedTokens, int NumScheduledTokens, int StateBlockId, string? RequestId = null)
{
    /// <summary>vLLM's <c>PAD_SLOT_ID</c>: a state index that marks a no-op padding row.</summary>
    public const int PadSlotId = -1;

    /// <summary>
    /// A decode runs one token on top of a stored state. A one-token request with nothing computed is a prefill, so
    /// that it gets <c>has_initial_state = false</c> and never reads the stale state of a reused block.
    /// </summary>
    public bool IsDecode => NumScheduledTokens == 1 && NumComputedTokens > 0;

    /// <summary>Whether this row is padding (its state index is <see cref="PadSlotId"/>).</summary>
    public bool IsPadding => StateBlockId == PadSlotId;

    /// <summary>A decode-shaped padding row (one token, state index <see cref="PadSlotId"/>), e.g. to fill a fixed-size decode batch.</summary>
    public static ScheduledRequest Padding() => new(1, 1, PadSlotId, "padding");
}
