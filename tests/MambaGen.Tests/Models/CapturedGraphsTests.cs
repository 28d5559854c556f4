using System;
using MambaGen.Models;

namespace MambaGen.Tests.Models;

/// <summary>The decode graphs' holder, shared by the pure and hybrid models' graphs.</summary>
public class CapturedGraphsTests
{
    private sealed class Graph : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    [Fact]
    public void Batch_buckets_double_up_to_the_largest_batch()
    {
        Assert.Equal(new[] { 1, 2, 4, 8, 16, 32, 64, 128, 256 }, CapturedGraphs.BatchBuckets(256));
        Assert.Equal(new[] { 1, 2, 4, 8, 10 }, CapturedGraphs.BatchBuckets(10));
        Assert.Equal(new[] { 1 }, CapturedGraphs.BatchBuckets(1));
    }

    [Fact]
    public void Graphs_stay_while_the_cache_stays_and_are_disposed_when_it_moves()
    {
        using var graphs = new CapturedGraphs<(int, int), Graph>();
        graphs.Track(new IntPtr[] { 10, 20 });
        var first = new Graph();
        graphs.Add((1, 1), first);
        graphs.Track(new IntPtr[] { 10, 20 });
        Assert.True(graphs.TryGet((1, 1), out var kept) && ReferenceEquals(first, kept));
        graphs.Track(new IntPtr[] { 10, 30 });
        Assert.False(graphs.TryGet((1, 1), out _));
        Assert.True(first.Disposed);
        Assert.Null(graphs.Disabled);
    }

    [Fact]
    public void Disabling_disposes_every_graph_and_keeps_the_reason()
    {
        var graphs = new CapturedGraphs<int, Graph>();
        var (a, b) = (new Graph(), new Graph());
        graphs.Add(1, a);
        graphs.Add(2, b);
        graphs.Disable("capture failed: out of memory");
        Assert.Equal("capture failed: out of memory", graphs.Disabled);
        Assert.Equal(0, graphs.Count);
        Assert.True(a.Disposed && b.Disposed);
    }
}
