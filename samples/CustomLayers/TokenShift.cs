using MambaGen;
using MambaGen.Backends;

namespace CustomLayers;

/// <summary>A custom backend: any mamba type name works once a backend is named.</summary>
public sealed class TokenShiftBackend : MambaAttentionBackend
{
    public override string Name => "TOKEN_SHIFT";
}

/// <summary>RWKV-style token shift: the state is the previous token's hidden vector, as a tuple-typed shape.</summary>
[MambaLayer("token_shift", Backend = typeof(TokenShiftBackend))]
public sealed partial class TokenShift : MambaBase
{
    private readonly int _hidden;

    public TokenShift(string name, EngineConfig config, int hidden)
        : base(name, config) => _hidden = hidden;

    [StateTensor(Dtype = StateDtype.BFloat16)]
    public (int, int) PreviousToken => (1, _hidden);
}
