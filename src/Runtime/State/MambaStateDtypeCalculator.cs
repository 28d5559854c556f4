using System;
using static TorchSharp.torch;

namespace MambaGen;

/// <summary>vLLM's <c>MambaStateDtypeCalculator</c> (mamba_utils.py): state dtypes from the model dtype and the
/// cache dtype settings, as pure functions.</summary>
public static class MambaStateDtypeCalculator
{
    /// <summary><c>get_kv_cache_torch_dtype</c>: "auto" is the model dtype, anything else names a dtype.</summary>
    public static ScalarType CacheDtype(MambaCacheDtype cache, ScalarType model) => cache switch
    {
        MambaCacheDtype.Auto => model,
        MambaCacheDtype.Float32 => ScalarType.Float32,
        MambaCacheDtype.Float16 => ScalarType.Float16,
        MambaCacheDtype.BFloat16 => ScalarType.BFloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(cache), cache, "Unknown mamba cache dtype."),
    };

    /// <summary><c>_mamba_state_dtype</c>: conv from the cache dtype; SSM from the SSM cache dtype, else the conv dtype.</summary>
    public static MambaStateDtypes Resolve(ScalarType model, MambaCacheDtype cache, MambaCacheDtype ssm)
    {
        var conv = CacheDtype(cache, model);
        return new MambaStateDtypes(conv, ssm == MambaCacheDtype.Auto ? conv : CacheDtype(ssm, model));
    }

    public static ScalarType[] Mamba1(ScalarType model, MambaCacheDtype cache, MambaCacheDtype ssm) => Pair(Resolve(model, cache, ssm));

    public static ScalarType[] Mamba2(ScalarType model, MambaCacheDtype cache, MambaCacheDtype ssm) => Pair(Resolve(model, cache, ssm));

    public static ScalarType[] GatedDeltaNet(ScalarType model, MambaCacheDtype cache, MambaCacheDtype ssm) => Pair(Resolve(model, cache, ssm));

    /// <summary>Short conv keeps one conv state and ignores the SSM cache dtype.</summary>
    public static ScalarType[] ShortConv(ScalarType model, MambaCacheDtype cache) => new[] { CacheDtype(cache, model) };

    /// <summary>Linear attention keeps one state in the cache dtype; vLLM (REF) refuses an fp32 state for it.</summary>
    public static ScalarType[] LinearAttention(ScalarType model, MambaCacheDtype cache)
    {
        if (cache == MambaCacheDtype.Float32)
        {
            throw new ArgumentException("fp32 state for linear attention (minimax) is not yet supported.", nameof(cache));
        }

        return new[] { CacheDtype(cache, model) };
    }

    private static ScalarType[] Pair(MambaStateDtypes d) => new[] { d.Conv, d.Ssm };
}
