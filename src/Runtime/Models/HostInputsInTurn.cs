using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Models;

/// <summary>
/// A decode graph's host-side inputs: two int64 buffers filled in turn. A step's copy from its buffer is queued, not
/// waited for; the buffer is filled again two steps later, when that copy has run, since the engine read that step's
/// tokens before queuing the step after it (even with async scheduling, which queues one step ahead of its reads).
/// </summary>
internal sealed class HostInputsInTurn : IDisposable
{
    private readonly Tensor[] _buffers;
    private int _current = 1;

    /// <param name="length">Elements in each buffer.</param>
    /// <param name="pinned">Page-locked, so the copies are queued (CUDA); plain host memory elsewhere.</param>
    public HostInputsInTurn(long length, bool pinned)
    {
        // Outside any dispose scope: the buffers live as long as the graphs that read them.
        _buffers = [Buffer(length, pinned), Buffer(length, pinned)];
    }

    private static Tensor Buffer(long length, bool pinned)
    {
        using var scope = torch.NewDisposeScope();
        var host = torch.zeros(length, dtype: ScalarType.Int64);
        return (pinned ? host.pin_memory() : host).DetachFromDisposeScope();
    }

    /// <summary>The buffer to fill for the next step (the other one than last time).</summary>
    public Tensor Next()
    {
        _current ^= 1;
        return _buffers[_current];
    }

    /// <summary>The buffer last filled.</summary>
    public Tensor Current => _buffers[_current];

    public void Dispose()
    {
        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }
    }
}
