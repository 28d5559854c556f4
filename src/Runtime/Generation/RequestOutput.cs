namespace MambaGen.Generation;

/// <summary>What one engine step produced for one request: a new token, and whether the request ended with it.</summary>
/// <param name="RequestId">The id given to (or by) <see cref="GenerationEngine.AddRequest"/>.</param>
/// <param name="Token">The new token.</param>
/// <param name="Finish">Why the request ended, or null while it goes on.</param>
public sealed record RequestOutput(string RequestId, int Token, FinishReason? Finish)
{
    public bool Finished => Finish is not null;
}
