using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cache;

/// <summary>
/// PyTorch's <c>Tensor.view(dtype)</c> for a contiguous 1-D byte buffer: the same bytes read as another dtype.
/// TorchSharp 0.107 does not expose it, so an empty tensor of the target dtype is pointed at the buffer's storage
/// with <c>set_</c>, sized so the bytes it covers are exactly the buffer's.
/// </summary>
internal static class DtypeView
{
    /// <summary>A view of the int8 1-D <paramref name="raw"/> as <paramref name="dtype"/>, sharing its storage.</summary>
    public static Tensor View(Tensor raw, ScalarType dtype)
    {
        long itemSize = DtypeSizes.ItemSize(dtype);
        long count = raw.numel() / itemSize;
        var typed = torch.empty(new long[] { 0 }, dtype, raw.device);
        // set_ keeps the source's sizes and strides; count int8 elements then span count·itemsize bytes in the new dtype.
        using var span = raw.narrow(0, 0, count);
        typed.set_(span);
        return typed;
    }
}
