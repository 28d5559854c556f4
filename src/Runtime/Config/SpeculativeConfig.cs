namespace MambaGen;

/// <summary>Speculative decoding: each draft token needs one more mamba block per request.</summary>
public sealed record SpeculativeConfig(int NumSpeculativeTokens);
