using System;
using System.Collections.Generic;
using System.Linq;

namespace MambaGen.Cache;

/// <summary>
/// Where each state of a layer lies inside one cache page (vLLM's <c>_reshape_kv_cache_tensors</c>): back to back in
/// spec order from byte 0, then padding up to <see cref="MambaSpec.PageSizeBytes"/>. Block b is page b of the
/// layer's raw buffer.
/// </summary>
public sealed class MambaPageLayout
{
    private MambaPageLayout(MambaSpec spec, long pageSizeBytes, long[] offsets, long[] sizes)
    {
        Spec = spec;
        PageSizeBytes = pageSizeBytes;
        StateOffsetsBytes = offsets;
        StateSizesBytes = sizes;
    }

    public MambaSpec Spec { get; }

    /// <summary>Bytes of one page, padding included.</summary>
    public long PageSizeBytes { get; }

    /// <summary>Byte offset of each state inside the page.</summary>
    public IReadOnlyList<long> StateOffsetsBytes { get; }

    /// <summary>Bytes of each state in one page.</summary>
    public IReadOnlyList<long> StateSizesBytes { get; }

    /// <summary>Bytes at the end of the page that no state uses.</summary>
    public long PaddingBytes => PageSizeBytes - StateSizesBytes.Sum();

    /// <summary>
    /// Lays out <paramref name="spec"/>'s states, checking what a typed view of a byte buffer needs: each state starts
    /// at a multiple of its item size, and the page is a multiple of every item size (else block b would not start
    /// at b·page in that dtype's elements). Errors name <paramref name="layerName"/>.
    /// </summary>
    public static MambaPageLayout For(MambaSpec spec, string layerName)
    {
        ArgumentNullException.ThrowIfNull(spec);
        long page = spec.PageSizeBytes;
        var sizes = spec.StateSizesBytes.ToArray();
        var offsets = new long[sizes.Length];
        long offset = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            var dtype = spec.Dtypes[i];
            int itemSize = DtypeSizes.ItemSize(dtype);
            if (offset % itemSize != 0)
            {
                throw new InvalidOperationException(
                    $"Layer '{layerName}': state {i} ({dtype}, {itemSize}-byte items) would start at byte {offset} of its page, which is not a multiple of {itemSize}; "
                    + $"make the states before it a multiple of {itemSize} bytes or put the wider dtype first.");
            }

            if (page % itemSize != 0)
            {
                throw new InvalidOperationException(
                    $"Layer '{layerName}': the page of {page} bytes is not a multiple of state {i}'s {itemSize}-byte item size ({dtype}), so its block stride would not be a whole number of items; "
                    + $"pad the page to a multiple of {itemSize} bytes.");
            }

            offsets[i] = offset;
            offset += sizes[i];
        }

        return new MambaPageLayout(spec, page, offsets, sizes);
    }
}
