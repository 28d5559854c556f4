using System;
using System.IO;
using MambaGen.Cuda;
using TorchSharp;
using static MambaGen.Cuda.KernelParam;
using static TorchSharp.torch;

namespace MambaGen.Bench;

/// <summary>
/// One warp's <c>mma.sync</c> through the prelude's fragment helpers (those the tensor-core SSD uses), on the device,
/// against the product on the host: the test suite's emulator lays the fragments out by its reading of the PTX ISA,
/// and only hardware can say whether that reading is right. A wrong layout fails here before any SSD output does.
/// </summary>
internal static class MmaProbe
{
    private const string Code = """
        #include "prelude.cuh"
        // A [16][16] (row-major) and B [8 n][16 k] as bf16 in global memory; D [16][8] fp32 as the accumulator holds it.
        extern "C" __global__ void mma_probe(const u16* a, const u16* b, float* d)
        {
            mg_after_previous_grid();
            unsigned af[4], bf[2];
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            mg_mma_load_a(af, a, 16);
            mg_mma_load_b(bf, b, 16);
            mg_mma_bf16(acc, af, bf);
            int lane = threadIdx.x & 31, row = lane >> 2, col = 2 * (lane & 3);
            d[row * 8 + col] = acc[0];
            d[row * 8 + col + 1] = acc[1];
            d[(row + 8) * 8 + col] = acc[2];
            d[(row + 8) * 8 + col + 1] = acc[3];
        }
        """;

    /// <summary>Prints PASS, FAIL or SKIP (no CUDA runtime, or a device before sm_80); false only on FAIL.</summary>
    public static bool Run(Device device, TextWriter output)
    {
        int index = Math.Max(0, (int)device.index);
        var runtime = CudaRuntime.TryCreate(index, null, out var reason);
        if (runtime is null || runtime.ComputeCapability.Major < 8)
        {
            output.WriteLine($"SKIP  mma.sync m16n8k16 bf16: {(runtime is null ? reason : $"{runtime.Arch} has no bf16 mma")}");
            return true;
        }

        var source = new KernelSource("mma_probe.cu", Code, new[] { new KernelSpec("mma_probe", Ptr, Ptr, Ptr) }, AwaitsPreviousGrid: true);
        var module = runtime.TryLoad(source, out reason);
        if (module is null)
        {
            output.WriteLine($"FAIL  mma.sync m16n8k16 bf16: the probe did not load: {reason}");
            return false;
        }

        using var scope = torch.NewDisposeScope();
        using var g = new Generator(21);
        var a = torch.randn(new long[] { 16, 16 }, generator: g).to(ScalarType.BFloat16);
        var b = torch.randn(new long[] { 8, 16 }, generator: g).to(ScalarType.BFloat16);
        var (aDev, bDev) = (a.to(device), b.to(device));
        var d = torch.zeros(new long[] { 16, 8 }, dtype: ScalarType.Float32, device: device);
        module.Function("mma_probe").Launch(new LaunchGrid(1, 1, 1, 32, 1, 1), TorchCuda.CurrentStream(index),
            KernelArg.Of(aDev), KernelArg.Of(bDev), KernelArg.Of(d));
        var expected = a.to(ScalarType.Float32).matmul(b.to(ScalarType.Float32).t());
        double diff = (d.cpu() - expected).abs().max().item<float>(), scale = expected.abs().max().item<float>();
        bool pass = diff <= 1e-4 * Math.Max(scale, 1);
        output.WriteLine($"{(pass ? "PASS" : "FAIL")}  mma.sync m16n8k16 bf16 fragments as the kernels lay them out: max diff {diff:E2} of {scale:F2}");
        return pass;
    }
}
