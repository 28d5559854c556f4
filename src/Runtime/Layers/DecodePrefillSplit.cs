using System;
using MambaGen.Backends;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>
/// vLLM's batch layout in one place: the step's tokens are [decodes | prefills]; a layer runs the decode path on the
/// first part, the prefill path on the rest, and gets the two outputs back in token order.
/// </summary>
internal static class DecodePrefillSplit
{
    /// <param name="metadata">The step's metadata: how many tokens decode and how many prefill.</param>
    /// <param name="decode">Runs the decode path on tokens [0, count).</param>
    /// <param name="prefill">Runs the prefill path on tokens [start, start + count).</param>
    /// <returns>Both outputs concatenated along the token axis; only one when the step has one kind.</returns>
    public static Tensor Run(MambaAttentionMetadata metadata, Func<int, Tensor> decode, Func<int, int, Tensor> prefill)
    {
        int nd = metadata.NumDecodeTokens, np = metadata.NumPrefillTokens;
        if (np == 0)
        {
            return decode(nd);
        }

        if (nd == 0)
        {
            return prefill(0, np);
        }

        return torch.cat(new[] { decode(nd), prefill(nd, np) }, 0);
    }
}
