using System;
using MambaGen.Cuda;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Cuda;

public class TorchCudaTests
{
    [Fact]
    public void Data_pointer_of_a_CPU_tensor_is_refused_naming_its_device()
    {
        using var t = torch.zeros(2, 3);

        var e = Assert.Throws<ArgumentException>(() => TorchCuda.DataPtr(t));
        Assert.Contains("the tensor [2, 3] Float32 is on cpu; a CUDA kernel needs a tensor on a CUDA device", e.Message);
        Assert.Throws<ArgumentException>(() => KernelArg.Of(t));
    }

    [Theory]
    [InlineData(ScalarType.Float32, 4)]
    [InlineData(ScalarType.BFloat16, 2)]
    [InlineData(ScalarType.Int64, 8)]
    public void Data_pointer_includes_the_storage_offset_for_any_dtype(ScalarType dtype, int elementBytes)
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.arange(20).to(dtype);
        var view = t.view(4, 5)[1.., 2..];

        long offset = TorchCuda.DataPtrOfAnyDevice(view).ToInt64() - TorchCuda.DataPtrOfAnyDevice(t).ToInt64();

        Assert.Equal(7L * elementBytes, offset);
        Assert.Equal(KernelParam.Ptr, KernelArg.Ptr(TorchCuda.DataPtrOfAnyDevice(view)).Kind);
    }

    [Fact]
    public void Stream_and_graph_calls_without_CUDA_return_false_or_null_with_a_reason_and_never_throw()
    {
        if (torch.cuda.is_available())
        {
            return;
        }

        Assert.False(TorchCuda.TryGetCurrentStream(0, out _, out var reason));
        Assert.Contains("no CUDA", reason);
        Assert.False(TorchCuda.TryUseSideStream(0, out _, out _));
        Assert.False(TorchCuda.TrySetCurrentStream(0, 1, out _));
        Assert.Contains("cannot be read", Assert.Throws<InvalidOperationException>(() => TorchCuda.CurrentStream(0)).Message);

        bool ran = false;
        Assert.Null(CudaGraph.TryCapture(0, () => ran = true, out var graphReason));
        Assert.False(ran);
        Assert.False(string.IsNullOrWhiteSpace(graphReason));
    }
}
