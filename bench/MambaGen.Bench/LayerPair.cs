using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Layers;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Bench;

/// <summary>The same mixer twice, with identical weights and states: once on the CPU (the tested reference), once on the device.</summary>
internal sealed class LayerPair : IDisposable
{
    private readonly MambaStateCache _cpuCache;
    private readonly MambaStateCache _deviceCache;
    private readonly int _chunkSize;

    public LayerPair(Func<MambaBase> create, Device device, int numBlocks, int chunkSize)
    {
        Device = device;
        _chunkSize = chunkSize;
        torch.manual_seed(7);
        Cpu = create();
        // Non-trivial A_log, dt_bias, D and norms, so a bug in any of them shows.
        using (torch.no_grad())
        {
            foreach (var (name, p) in Cpu.named_parameters())
            {
                if (name.EndsWith("A_log", StringComparison.Ordinal) || name.EndsWith("dt_bias", StringComparison.Ordinal) || name == "D" || name.EndsWith("norm.weight", StringComparison.Ordinal))
                {
                    p.copy_(p + 0.3 * torch.randn_like(p));
                }
            }
        }

        OnDevice = create();
        OnDevice.load_state_dict(Cpu.state_dict());
        OnDevice.to(device);
        _cpuCache = MambaStateCache.Allocate(new[] { Cpu }, numBlocks, CPU);
        _deviceCache = MambaStateCache.Allocate(new[] { OnDevice }, numBlocks, device);
        // Dirty blocks: a new request must ignore whatever a block held before.
        for (int i = 0; i < Cpu.KvCache.Count; i++)
        {
            var garbage = torch.randn(Cpu.KvCache[i].shape).to(Cpu.KvCache[i].dtype);
            Cpu.KvCache[i].copy_(garbage);
            OnDevice.KvCache[i].copy_(garbage.to(device));
        }
    }

    public MambaBase Cpu { get; }

    public MambaBase OnDevice { get; }

    public Device Device { get; }

    /// <summary>Runs one step on both and returns the largest relative difference of outputs and states.</summary>
    public (double Output, double States) Step(IReadOnlyList<ScheduledRequest> requests, int hidden)
    {
        using var scope = torch.NewDisposeScope();
        var common = new CommonAttentionMetadata(requests);
        var x = torch.randn(common.NumActualTokens, hidden).to(Cpu.Config.Model.Dtype);
        var yCpu = Run(Cpu, x, common, CPU);
        var yDev = Run(OnDevice, x.to(Device), common, Device).cpu();
        double states = Cpu.KvCache.Zip(OnDevice.KvCache).Max(p => RelDiff(p.First, p.Second.cpu()));
        // A padding row's output is unspecified (the reference computes it from block 0, the kernels write zeros).
        var real = Enumerable.Range(0, requests.Count).Where(i => requests[i].StateBlockId != ScheduledRequest.PadSlotId)
            .SelectMany(i => Enumerable.Range(common.QueryStartLoc[i], requests[i].NumScheduledTokens)).Select(t => (long)t).ToArray();
        var rows = torch.tensor(real);
        return (RelDiff(yCpu.index_select(0, rows), yDev.index_select(0, rows)), states);
    }

    public static Tensor Run(MambaBase layer, Tensor x, CommonAttentionMetadata common, Device device, int chunkSize = 64)
    {
        // The CPU side is the reference: the TorchSharp ops, not the CPU's fused decode loops.
        var builder = device.type != DeviceType.CPU ? layer.GetAttnBackend().CreateMetadataBuilder(device, chunkSize)
            : layer is Mamba2Mixer ? new Mamba2MetadataBuilder(device, chunkSize, MambaOps.Reference) : new MambaMetadataBuilder(device, MambaOps.Reference);
        using var metadata = builder.Build(common);
        return ((IMambaMixer)layer).Forward(x, metadata);
    }

    private Tensor Run(MambaBase layer, Tensor x, CommonAttentionMetadata common, Device device) => Run(layer, x, common, device, _chunkSize);

    /// <summary>max |a - b| / max(max |b|, 1e-6): one number for a whole tensor.</summary>
    public static double RelDiff(Tensor a, Tensor b)
    {
        var a64 = a.to(ScalarType.Float64);
        var b64 = b.to(ScalarType.Float64);
        return (a64 - b64).abs().max().item<double>() / Math.Max(b64.abs().max().item<double>(), 1e-6);
    }

    public void Dispose()
    {
        _cpuCache.Dispose();
        _deviceCache.Dispose();
        Cpu.Dispose();
        OnDevice.Dispose();
    }
}
