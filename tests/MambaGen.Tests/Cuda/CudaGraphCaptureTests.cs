using System;
using System.Collections.Generic;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda;

public class CudaGraphCaptureTests
{
    /// <summary>libtorch's CUDAGraph and the driver's capture state, as calls in order.</summary>
    private sealed class FakeGraphApi : ICudaGraphApi
    {
        public IntPtr Stream { get; set; } = 0x5;

        public CudaCaptureStatus Status { get; set; }

        /// <summary>What the body's work does to the capture (an uncapturable call invalidates it).</summary>
        public CudaCaptureStatus StatusAfterBody { get; set; } = CudaCaptureStatus.Active;

        public List<string> Calls { get; } = new();

        public bool TryGetCurrentStream(int device, out IntPtr stream, out string reason)
        {
            stream = Stream;
            reason = "";
            return true;
        }

        public CudaCaptureStatus GetCaptureStatus(IntPtr stream) => Status;

        public void EndCaptureThroughDriver(IntPtr stream)
        {
            Calls.Add("driver end");
            Status = CudaCaptureStatus.None;
        }

        public IDisposable? DeviceGuard(int device)
        {
            Calls.Add($"guard {device}");
            return null;
        }

        public IntPtr Create()
        {
            Calls.Add("create");
            return 0x6000;
        }

        public void CaptureBegin(IntPtr graph, int mode)
        {
            Calls.Add($"begin mode {mode}");
            Status = CudaCaptureStatus.Active;
        }

        public void Body() => Status = StatusAfterBody;

        public void CaptureEnd(IntPtr graph)
        {
            Calls.Add("end");
            Status = CudaCaptureStatus.None;
        }

        public void Replay(IntPtr graph) => Calls.Add("replay");

        public void Destroy(IntPtr graph) => Calls.Add("destroy");
    }

    [Fact]
    public void Capture_begins_in_thread_local_mode_runs_the_body_ends_and_replays()
    {
        var api = new FakeGraphApi();
        using var graph = CudaGraph.TryCapture(1, api.Body, api, out var reason);

        Assert.NotNull(graph);
        Assert.Equal("", reason);
        graph.Replay();
        Assert.Equal(new[] { "guard 1", "create", "begin mode 1", "end", "replay" }, api.Calls);
        Assert.Equal((IntPtr)0x5, graph.Stream);
    }

    [Fact]
    public void Capture_on_the_legacy_default_stream_is_refused_before_anything_is_made()
    {
        var api = new FakeGraphApi { Stream = IntPtr.Zero };
        bool ran = false;

        Assert.Null(CudaGraph.TryCapture(0, () => ran = true, api, out var reason));
        Assert.Contains("legacy default stream, which cannot be captured; call TorchCuda.TryUseSideStream(0, ...)", reason);
        Assert.False(ran);
        Assert.Empty(api.Calls);
    }

    [Fact]
    public void Capture_on_a_stream_already_capturing_is_refused()
    {
        var api = new FakeGraphApi { Status = CudaCaptureStatus.Active };

        Assert.Null(CudaGraph.TryCapture(0, api.Body, api, out var reason));
        Assert.Contains("already capturing", reason);
        Assert.Empty(api.Calls);
    }

    [Fact]
    public void Invalidated_capture_is_ended_through_the_driver_and_never_through_libtorch()
    {
        var api = new FakeGraphApi { StatusAfterBody = CudaCaptureStatus.Invalidated };

        Assert.Null(CudaGraph.TryCapture(0, api.Body, api, out var reason));
        Assert.Contains("invalidated", reason);
        Assert.Equal(new[] { "guard 0", "create", "begin mode 1", "driver end" }, api.Calls);
    }

    [Fact]
    public void Body_exception_ends_the_capture_through_the_driver_leaks_the_graph_object_and_is_rethrown()
    {
        var api = new FakeGraphApi();

        var e = Assert.Throws<InvalidOperationException>(() => CudaGraph.TryCapture(0, () =>
        {
            api.Body();
            throw new InvalidOperationException("op failed during capture");
        }, api, out _));

        Assert.Equal("op failed during capture", e.Message);
        Assert.Equal(new[] { "guard 0", "create", "begin mode 1", "driver end" }, api.Calls);
    }

    [Fact]
    public void Capture_ended_by_something_else_is_reported_without_ending_it_again()
    {
        var api = new FakeGraphApi { StatusAfterBody = CudaCaptureStatus.None };

        Assert.Null(CudaGraph.TryCapture(0, api.Body, api, out var reason));
        Assert.Contains("stopped capturing", reason);
        Assert.DoesNotContain("driver end", api.Calls);
        Assert.DoesNotContain("end", api.Calls);
    }

    [Fact]
    public void Dispose_destroys_the_graph_once_and_replay_afterwards_is_refused()
    {
        var api = new FakeGraphApi();
        var graph = CudaGraph.TryCapture(0, api.Body, api, out _)!;

        graph.Dispose();
        graph.Dispose();

        Assert.Single(api.Calls, c => c == "destroy");
        Assert.Throws<ObjectDisposedException>(graph.Replay);
    }
}
