using System;
using TorchSharp;

namespace MambaGen.Cuda;

/// <summary>
/// One kernel's entries across dtypes (<c>{prefix}_{activation}_{state}</c>, or <c>{prefix}_{activation}</c>),
/// resolved once when the module loads, so a launch formats no name and looks nothing up.
/// </summary>
internal sealed class KernelFamily
{
    private static readonly string[] Suffixes = KernelSources.ActivationSuffixes;
    private readonly CudaFunction[] _entries;
    private readonly bool _perState;

    public KernelFamily(CudaModule module, string prefix, bool perState = true)
    {
        _perState = perState;
        _entries = new CudaFunction[perState ? Suffixes.Length * Suffixes.Length : Suffixes.Length];
        for (int a = 0; a < Suffixes.Length; a++)
        {
            if (!perState)
            {
                _entries[a] = module.Function($"{prefix}_{Suffixes[a]}");
                continue;
            }

            for (int s = 0; s < Suffixes.Length; s++)
            {
                _entries[a * Suffixes.Length + s] = module.Function($"{prefix}_{Suffixes[a]}_{Suffixes[s]}");
            }
        }
    }

    /// <summary>The entry for an activation dtype (and a state, residual or second dtype); both must be fp32, bf16 or fp16.</summary>
    public CudaFunction For(torch.ScalarType activation, torch.ScalarType? state = null)
    {
        int a = Index(activation);
        return _perState ? _entries[a * Suffixes.Length + Index(state ?? activation)] : _entries[a];
    }

    private static int Index(torch.ScalarType dtype)
    {
        int index = Array.IndexOf(Suffixes, CudaMambaOps.Suffix(dtype));
        return index >= 0 ? index : throw new ArgumentException($"The kernels take fp32, bf16 or fp16, not {dtype}.", nameof(dtype));
    }
}
