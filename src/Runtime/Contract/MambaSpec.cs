using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace MambaGen;

/// <summary>
/// vLLM's <c>MambaSpec</c> (v1/kv_cache_interface.py): what one layer's recurrent state costs in the cache. A block is
/// one page; within it the states lie back to back in <see cref="Shapes"/> order, then padding.
/// </summary>
public sealed record MambaSpec
{
    public MambaSpec(IReadOnlyList<long[]> shapes, IReadOnlyList<ScalarType> dtypes, int blockSize, long? pageSizePadded = null,
        string mambaType = "mamba2", MambaCacheMode cacheMode = MambaCacheMode.None, int numSpeculativeBlocks = 0)
    {
        if (shapes.Count != dtypes.Count)
        {
            throw new ArgumentException($"A mamba spec needs one dtype per state: {shapes.Count} shapes, {dtypes.Count} dtypes.");
        }

        Shapes = shapes.Select(s => (long[])s.Clone()).ToArray();
        Dtypes = dtypes.ToArray();
        BlockSize = blockSize;
        PageSizePadded = pageSizePadded;
        MambaType = mambaType;
        CacheMode = cacheMode;
        NumSpeculativeBlocks = numSpeculativeBlocks;
    }

    /// <summary>Per-block shape of each state, without the leading block dimension.</summary>
    public IReadOnlyList<long[]> Shapes { get; }

    public IReadOnlyList<ScalarType> Dtypes { get; }

    /// <summary>Tokens per block. The page size does not depend on it.</summary>
    public int BlockSize { get; }

    public long? PageSizePadded { get; }

    public string MambaType { get; }

    public MambaCacheMode CacheMode { get; }

    public int NumSpeculativeBlocks { get; }

    /// <summary>Bytes of each state in one page, in order.</summary>
    public IEnumerable<long> StateSizesBytes => Shapes.Select((s, i) => Product(s) * DtypeSizes.ItemSize(Dtypes[i]));

    /// <summary>Sum of the states' bytes, before any padding.</summary>
    public long UnpaddedPageSizeBytes => StateSizesBytes.Sum();

    /// <summary>Σ prod(shape)·itemsize, or the padded size, which must not be smaller.</summary>
    public long PageSizeBytes
    {
        get
        {
            var raw = UnpaddedPageSizeBytes;
            if (PageSizePadded is { } padded)
            {
                if (padded < raw)
                {
                    throw new InvalidOperationException($"The padded mamba page size ({padded} bytes) is smaller than the {MambaType} states it must hold ({raw} bytes).");
                }

                return padded;
            }

            return raw;
        }
    }

    /// <summary>Most cache bytes one request can hold, per vLLM's cache modes.</summary>
    public long MaxMemoryUsageBytes(EngineConfig config) => CacheMode switch
    {
        MambaCacheMode.All => CeilDiv(config.Model.MaxModelLen, BlockSize) * PageSizeBytes,
        MambaCacheMode.Align => (2L + NumSpeculativeBlocks) * PageSizeBytes,
        _ => (1L + NumSpeculativeBlocks) * PageSizeBytes,
    };

    public bool Equals(MambaSpec? other) =>
        other is not null && BlockSize == other.BlockSize && PageSizePadded == other.PageSizePadded && MambaType == other.MambaType
        && CacheMode == other.CacheMode && NumSpeculativeBlocks == other.NumSpeculativeBlocks
        && Dtypes.SequenceEqual(other.Dtypes) && Shapes.Count == other.Shapes.Count
        && Shapes.Zip(other.Shapes).All(p => p.First.AsSpan().SequenceEqual(p.Second));

    public override int GetHashCode() => HashCode.Combine(BlockSize, PageSizePadded, MambaType, CacheMode, NumSpeculativeBlocks, Shapes.Count);

    public override string ToString() =>
        $"MambaSpec({MambaType}: {string.Join(", ", Shapes.Select((s, i) => $"[{string.Join(", ", s)}] {Dtypes[i]}"))}; page {PageSizeBytes} B; block {BlockSize} tokens; {CacheMode})";

    internal static long Product(long[] shape)
    {
        long p = 1;
        foreach (var d in shape)
        {
            p *= d;
        }

        return p;
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
