using System;
using MambaGen.Backends;

namespace MambaGen.Tests.CompileAndRun;

// Layers declared the way a user declares them: attributes only; the generator writes the MambaBase members.

/// <summary>vLLM's MambaMixer2 state, sized by the shared calculator.</summary>
[MambaLayer("mamba2")]
public sealed partial class DeclaredMamba2 : MambaBase
{
    private readonly int _inner, _groups, _heads, _headDim, _state, _kernel;

    public DeclaredMamba2(string name, EngineConfig config, int inner, int groups, int heads, int headDim, int state, int kernel)
        : base(name, config) => (_inner, _groups, _heads, _headDim, _state, _kernel) = (inner, groups, heads, headDim, state, kernel);

    private int Tp => Config.Parallel.TensorParallelSize;

    [StateTensor]
    public long[] ConvState => MambaStateShapeCalculator.Mamba2(Tp, _inner, _groups, _heads, _headDim, _state, _kernel).Conv;

    [StateTensor]
    public long[] SsmState => MambaStateShapeCalculator.Mamba2(Tp, _inner, _groups, _heads, _headDim, _state, _kernel).Ssm;
}

/// <summary>vLLM's MambaMixer state, its shapes given as tuples.</summary>
[MambaLayer("mamba1")]
public sealed partial class DeclaredMamba1 : MambaBase
{
    private readonly int _inner, _state, _kernel;

    public DeclaredMamba1(string name, EngineConfig config, int inner, int state, int kernel)
        : base(name, config) => (_inner, _state, _kernel) = (inner, state, kernel);

    [StateTensor]
    public (int, int) ConvStateShape => (_kernel - 1, _inner / Config.Parallel.TensorParallelSize);

    [StateTensor]
    public (int, int) SsmStateShape => (_inner / Config.Parallel.TensorParallelSize, _state);
}

/// <summary>LFM2's short conv: one state, given as an int[] by a method.</summary>
[MambaLayer("short_conv")]
public sealed partial class DeclaredShortConv : MambaBase
{
    private readonly int _hidden, _kernel;

    public DeclaredShortConv(string name, EngineConfig config, int hidden, int kernel)
        : base(name, config) => (_hidden, _kernel) = (hidden, kernel);

    [StateTensor]
    public int[] ConvState() => Array.ConvertAll(MambaStateShapeCalculator.ShortConv(Config.Parallel.TensorParallelSize, _hidden, _kernel), v => (int)v);
}

/// <summary>MiniMax's lightning attention: one [heads, d, d] state, in a field.</summary>
[MambaLayer("linear_attention")]
public sealed partial class DeclaredLinearAttention : MambaBase
{
    [StateTensor]
    private readonly long[] _kvStateShape;

    public DeclaredLinearAttention(string name, EngineConfig config, int heads, int headDim)
        : base(name, config) => _kvStateShape = MambaStateShapeCalculator.LinearAttention(heads, config.Parallel.TensorParallelSize, headDim);
}

/// <summary>Qwen3-Next's gated DeltaNet: conv state and recurrent state, dtypes by vLLM's auto rule.</summary>
[MambaLayer("gdn_attention")]
public sealed partial class DeclaredGatedDeltaNet : MambaBase
{
    public DeclaredGatedDeltaNet(string name, EngineConfig config)
        : base(name, config)
    {
    }

    private (long[] Conv, long[] Ssm) Shapes => MambaStateShapeCalculator.GatedDeltaNet(Config.Parallel.TensorParallelSize, 16, 32, 128, 128, 4);

    [StateTensor]
    public long[] ConvState => Shapes.Conv;

    [StateTensor]
    public long[] RecurrentState => Shapes.Ssm;
}

/// <summary>A custom backend: the layer's own metadata builder is whatever this returns.</summary>
public sealed class TokenShiftBackend : MambaAttentionBackend
{
    public override string Name => "TOKEN_SHIFT";
}

/// <summary>A custom mamba type with its own backend, states declared out of order with explicit positions and
/// fixed dtype rules.</summary>
[MambaLayer("token_shift", Backend = typeof(TokenShiftBackend))]
public sealed partial class DeclaredTokenShift : MambaBase
{
    private readonly int _hidden;

    public DeclaredTokenShift(string name, EngineConfig config, int hidden)
        : base(name, config) => _hidden = hidden;

    /// <summary>Declared first, stored last: always fp32, whatever the cache config says.</summary>
    [StateTensor(Order = 2, Dtype = StateDtype.Float32)]
    public long[] ScaleState => new long[] { _hidden };

    /// <summary>Declared second, stored first: always bf16.</summary>
    [StateTensor(Order = 0, Dtype = StateDtype.BFloat16)]
    public (int, int) PreviousTokenShape => (1, _hidden);

    /// <summary>Stored second, in the SSM cache dtype.</summary>
    [StateTensor(Order = 1, Dtype = StateDtype.Ssm)]
    public long[] MixState => new long[] { 2, _hidden };
}

/// <summary>Conv and SSM rules named explicitly, in the reverse of vLLM's positions.</summary>
[MambaLayer("mamba2")]
public sealed partial class DeclaredSwappedRules : MambaBase
{
    public DeclaredSwappedRules(string name, EngineConfig config)
        : base(name, config)
    {
    }

    [StateTensor(Dtype = StateDtype.Ssm)]
    public long[] First => new long[] { 2, 4 };

    [StateTensor(Dtype = StateDtype.Conv)]
    public long[] Second => new long[] { 3, 4 };
}
