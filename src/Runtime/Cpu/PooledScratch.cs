using System;
using System.Buffers;
using System.Runtime.InteropServices;

namespace MambaGen.Cpu;

/// <summary>
/// Scratch floats from the shared array pool, pinned while in use, so a loop takes their address:
/// <c>using var rows = new PooledScratch(n);</c> then <c>rows.Pointer</c>; disposing unpins and returns them.
/// </summary>
internal readonly unsafe struct PooledScratch : IDisposable
{
    private readonly float[] _array;
    private readonly GCHandle _pin;

    public PooledScratch(long floats)
    {
        _array = ArrayPool<float>.Shared.Rent(checked((int)Math.Max(1, floats)));
        _pin = GCHandle.Alloc(_array, GCHandleType.Pinned);
        Pointer = (float*)_pin.AddrOfPinnedObject();
    }

    /// <summary>The first float; at least as many as asked follow it.</summary>
    public float* Pointer { get; }

    public void Dispose()
    {
        _pin.Free();
        ArrayPool<float>.Shared.Return(_array);
    }
}
