using System;
using System.Linq;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// A step's greedy picks on their way to the host. <see cref="Tokens"/> is on the logits' device at once, so the next
/// decode step can take it as its input ids before anyone reads it; <see cref="Read"/> waits for the copy to the host
/// alone, not for the work queued after it. Owns its tensors (outside any dispose scope) until disposed.
/// </summary>
public sealed class PendingPicks : IDisposable
{
    private readonly Tensor _host;
    private readonly Action _wait;
    private readonly Action? _release;
    private long[]? _rows;
    private bool _disposed;

    /// <param name="tokens">[rows] int64 on the logits' device: each row's pick.</param>
    /// <param name="host">[rows, 2] int64 on the host, being filled as <see cref="IGreedyOps.Pick"/>'s output.</param>
    /// <param name="wait">Returns once <paramref name="host"/> holds the picks.</param>
    /// <param name="release">Frees what the wait needs (an event), once.</param>
    public PendingPicks(Tensor tokens, Tensor host, Action wait, Action? release = null)
    {
        Tokens = tokens.DetachFromDisposeScope();
        _host = host.DetachFromDisposeScope();
        (_wait, _release) = (wait, release);
    }

    public Tensor Tokens { get; }

    public int Count => (int)Tokens.shape[0];

    /// <summary>[rows × 2] as <see cref="IGreedyOps.Pick"/>'s rows (token, 1 where the row can be sampled), once the copy has landed.</summary>
    public long[] Read()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_rows is null)
        {
            _wait();
            _rows = _host.data<long>().ToArray();
        }

        return _rows;
    }

    /// <summary>Frees the tensors and the event; a copy still on its way lands in memory the host allocator holds until then.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _release?.Invoke();
        Tokens.Dispose();
        _host.Dispose();
    }
}
