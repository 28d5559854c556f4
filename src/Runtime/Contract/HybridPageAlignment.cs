using System;
using static TorchSharp.torch;

namespace MambaGen;

/// <summary>The attention block size and mamba page padding that give a hybrid model one page size (vLLM §3.3).</summary>
/// <param name="AttentionBlockSize">Tokens per attention block.</param>
/// <param name="AttentionPageBytes">Bytes of one attention page at that block size.</param>
/// <param name="MambaPageBytes">Bytes of the unpadded mamba page.</param>
/// <param name="MambaBlockSize">The mamba block size the alignment sets (mode all and align), or null to keep the config's.</param>
public sealed record HybridPageAlignment(int AttentionBlockSize, long AttentionPageBytes, long MambaPageBytes, int? MambaBlockSize)
{
    /// <summary>The padded mamba page size to put in <see cref="CacheConfig.MambaPageSizePadded"/>, or null when none is needed.</summary>
    public long? MambaPageSizePadded => AttentionPageBytes == MambaPageBytes ? null : AttentionPageBytes;

    /// <summary>How much larger the padded mamba page is, in percent of the unpadded one.</summary>
    public double PaddingPercent => 100.0 * (AttentionPageBytes - MambaPageBytes) / MambaPageBytes;

    /// <summary>
    /// vLLM's <c>HybridAttentionMambaModelConfig.verify_and_update_config</c>: the smallest attention block (a multiple
    /// of <paramref name="kernelAlignment"/> tokens, or of the chunk in mode all) whose page holds a mamba page.
    /// </summary>
    public static HybridPageAlignment Compute(long mambaPageBytes, int numKvHeadsPerRank, int headSize, ScalarType kvDtype,
        MambaCacheMode mode = MambaCacheMode.None, int? userBlockSize = null, int? userMambaBlockSize = null, int mambaChunkSize = 2048, int kernelAlignment = 16)
    {
        if (mambaPageBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(mambaPageBytes), mambaPageBytes, "A hybrid model needs a positive mamba page size.");
        }

        // Full attention keeps K and V: 2 · heads · head size · itemsize bytes per token.
        long attnPerToken = 2L * numKvHeadsPerRank * headSize * DtypeSizes.ItemSize(kvDtype);
        int? mambaBlockSize = null;
        long attnBlock;
        if (mode == MambaCacheMode.All)
        {
            long chunk = Lcm(userMambaBlockSize ?? mambaChunkSize, kernelAlignment);
            attnBlock = chunk * CeilDiv(CeilDiv(mambaPageBytes, attnPerToken), chunk);
            mambaBlockSize = checked((int)attnBlock);
        }
        else
        {
            attnBlock = kernelAlignment * CeilDiv(mambaPageBytes, kernelAlignment * attnPerToken);
        }

        long blockSize = userBlockSize is { } user && user >= attnBlock ? user : attnBlock;
        if (mode == MambaCacheMode.Align)
        {
            mambaBlockSize = checked((int)blockSize);
        }

        return new HybridPageAlignment(checked((int)blockSize), blockSize * attnPerToken, mambaPageBytes, mambaBlockSize);
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    private static long Lcm(long a, long b) => a / Gcd(a, b) * b;

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);
}
