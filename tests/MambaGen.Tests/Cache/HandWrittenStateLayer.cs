using System.Collections.Generic;
using MambaGen.Backends;
using static TorchSharp.torch;

namespace MambaGen.Tests.Cache;

/// <summary>A mamba layer with its state declared by hand, so cache tests do not depend on the generator.</summary>
internal sealed class HandWrittenStateLayer : MambaBase
{
    private readonly long[][] _shapes;
    private readonly ScalarType[] _dtypes;

    public HandWrittenStateLayer(string name, EngineConfig config, long[][] shapes, ScalarType[] dtypes)
        : base(name, config)
    {
        _shapes = shapes;
        _dtypes = dtypes;
    }

    public override string MambaType => "mamba2";

    public override IReadOnlyList<long[]> GetStateShape() => _shapes;

    public override IReadOnlyList<ScalarType> GetStateDtype() => _dtypes;

    public override MambaAttentionBackend GetAttnBackend() => MambaAttentionBackends.Get<Mamba2AttentionBackend>();

    /// <summary>A bf16 conv state [4, 3] (24 bytes) then an fp32 SSM state [2, 5] (40 bytes): a 64-byte page, or <paramref name="paddedPage"/>.</summary>
    public static HandWrittenStateLayer ConvThenSsm(string name, long? paddedPage = null) =>
        new(name, EngineConfigWith(paddedPage), new[] { new long[] { 4, 3 }, new long[] { 2, 5 } }, new[] { ScalarType.BFloat16, ScalarType.Float32 });

    public static EngineConfig EngineConfigWith(long? paddedPage = null, MambaCacheMode mode = MambaCacheMode.None) =>
        new(new ModelConfig("mamba2", ScalarType.BFloat16), new CacheConfig { MambaPageSizePadded = paddedPage, MambaCacheMode = mode }, new ParallelConfig());
}
