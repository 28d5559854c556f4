using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>Argument checks shared by the ops, so bad input fails with the name of the tensor at fault.</summary>
internal static class OpArgs
{
    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    public static void Dims(Tensor t, string name, params long[] expected)
    {
        // Tensor.shape crosses into native code with a callback and a pinned array (its finalizer runs later); one
        // dim() and one size(i) per dimension are plain calls, which the per-step checks can afford.
        bool ok = t.dim() == expected.Length;
        for (int i = 0; ok && i < expected.Length; i++)
        {
            ok = expected[i] < 0 || t.size(i) == expected[i];
        }

        if (!ok)
        {
            var want = "[" + string.Join(", ", expected.Select(e => e < 0 ? "*" : e.ToString())) + "]";
            throw new ArgumentException($"{name} must have shape {want}; got {Shape(t)}.", name);
        }
    }

    public static void Floating(Tensor t, string name)
    {
        if (!t.is_floating_point())
        {
            throw new ArgumentException($"{name} must be a floating-point tensor; got {t.dtype}.", name);
        }
    }

    public static void SameDevice(Tensor reference, Tensor? t, string name)
    {
        if (t is not null && (t.device_type != reference.device_type || t.device_index != reference.device_index))
        {
            throw new ArgumentException($"{name} is on {t.device} but the op runs on {reference.device}.", name);
        }
    }

    /// <summary>Checks prefill-local cumulative offsets [B+1] against the token count; every sequence needs a token.</summary>
    public static int[] Lengths(int[] queryStartLoc, long numTokens)
    {
        if (queryStartLoc.Length < 2 || queryStartLoc[0] != 0 || queryStartLoc[^1] != numTokens)
        {
            throw new ArgumentException($"queryStartLoc must run from 0 to the token count {numTokens} with one entry per sequence plus one; got [{string.Join(", ", queryStartLoc)}].", nameof(queryStartLoc));
        }

        var lengths = new int[queryStartLoc.Length - 1];
        for (int i = 0; i < lengths.Length; i++)
        {
            lengths[i] = queryStartLoc[i + 1] - queryStartLoc[i];
            if (lengths[i] <= 0)
            {
                throw new ArgumentException($"queryStartLoc gives sequence {i} {lengths[i]} tokens; a prefill sequence needs at least one.", nameof(queryStartLoc));
            }
        }

        return lengths;
    }

    /// <summary>
    /// Whether each block of a state cache view is contiguous in its last <paramref name="dims"/> dims (blocks may be
    /// strided): what kernels and loops that address a state by raw block offset need.
    /// </summary>
    public static bool RowsContiguous(Tensor states, int dims)
    {
        long expected = 1;
        for (int i = (int)states.dim() - 1; i >= states.dim() - dims; i--)
        {
            if (states.stride(i) != expected)
            {
                return false;
            }

            expected *= states.size(i);
        }

        return true;
    }

    /// <summary>Kernels and loops write states by raw block index: a block past the cache would corrupt memory, so it is refused.</summary>
    public static void CheckBlocks(int maxStateIndex, Tensor states, string name)
    {
        if (maxStateIndex >= states.size(0))
        {
            throw new ArgumentException($"State block {maxStateIndex} is outside {name}, which has {states.size(0)} blocks.", name);
        }
    }

    /// <summary>vLLM's softplus: log1p(exp(v)) for v &lt;= 20, v above (PyTorch's threshold 20).</summary>
    public static Tensor Softplus(Tensor v) => nn.functional.softplus(v, 1, 20);

    /// <summary>
    /// Host metadata to the device without stalling it: on an accelerator the array goes through pinned memory with an
    /// asynchronous copy (a plain copy from pageable memory would wait for the device's queued work).
    /// </summary>
    public static Tensor Upload(long[] data, Device device) => Move(torch.tensor(data), device);

    /// <inheritdoc cref="Upload(long[], Device)"/>
    public static Tensor Upload(bool[] data, Device device) => Move(torch.tensor(data), device);

    /// <inheritdoc cref="Upload(long[], Device)"/>
    public static Tensor Upload(float[] data, Device device) => Move(torch.tensor(data), device);

    private static Tensor Move(Tensor host, Device device)
    {
        if (device.type == DeviceType.CPU)
        {
            return host;
        }

        using (host)
        {
            // The caching host allocator keeps the pinned block until the copy has run, so it may be released at once.
            using var pinned = host.pin_memory();
            return pinned.to(device, non_blocking: true);
        }
    }
}
