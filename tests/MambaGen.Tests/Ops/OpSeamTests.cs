using System.Collections.Generic;
using MambaGen.Backends;
using MambaGen.Layers;
using MambaGen.Ops;
using MambaGen.Tests.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MambaGen.Tests.Ops;

/// <summary>The op seam: layers call whatever op set the step's metadata carries, and the CPU picks the TorchSharp ops.</summary>
public sealed class OpSeamTests
{
    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Mixers_call_the_op_set_their_metadata_carries_for_prefill_and_decode(string kind)
    {
        var mixer = MixerUnderTest.Create(kind);
        using var cache = mixer.Allocate(4);
        var recording = new RecordingOps();
        var ops = MambaOps.Of("recording", recording);
        var builder = MixerUnderTest.Builder(kind, ops);

        using (var metadata = builder.Build(new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 5, 1) })))
        {
            ((IMambaMixer)mixer.Layer).Forward(mixer.Hidden(1, 5), metadata).Dispose();
        }

        using (var metadata = builder.Build(new CommonAttentionMetadata(new[] { new ScheduledRequest(5, 1, 1) })))
        {
            ((IMambaMixer)mixer.Layer).Forward(mixer.Hidden(2, 1), metadata).Dispose();
        }

        var expected = kind switch
        {
            MixerUnderTest.Mamba1 => new[]
            {
                "linear", "conv.prefill", "linear", "linear", "scan.prefill", "linear",
                "linear", "conv.decode", "linear", "linear", "scan.decode", "linear",
            },
            MixerUnderTest.ShortConvKind => new[] { "linear", "conv.prefill", "linear", "linear", "conv.decode", "linear" },
            _ => new[] { "linear", "conv.prefill", "ssd.prefill", "norm.gated", "linear", "linear", "conv.decode", "ssd.decode", "norm.gated", "linear" },
        };
        Assert.Equal(expected, recording.Calls);
    }

    [Fact]
    public void Mamba1_decode_leaves_dt_proj_to_the_state_update_where_the_op_set_fuses_them()
    {
        var viaReference = MixerUnderTest.Create(MixerUnderTest.Mamba1);
        var viaRecording = MixerUnderTest.Create(MixerUnderTest.Mamba1);
        using var cacheA = viaReference.Allocate(4);
        using var cacheB = viaRecording.Allocate(4);
        var recording = new RecordingOps { FusesDtProjection = true };
        var step = new CommonAttentionMetadata(new[] { new ScheduledRequest(5, 1, 1), new ScheduledRequest(2, 1, 3) });
        using var metadata = MixerUnderTest.Builder(MixerUnderTest.Mamba1, MambaOps.Of("recording", recording)).Build(step);
        using var referenceMetadata = MixerUnderTest.Builder(MixerUnderTest.Mamba1, MambaOps.Reference).Build(step);

        var y = ((IMambaMixer)viaRecording.Layer).Forward(viaRecording.Hidden(2, 2), metadata);
        var expected = ((IMambaMixer)viaReference.Layer).Forward(viaReference.Hidden(2, 2), referenceMetadata);

        // in_proj, the conv, x_proj, the update with dt_proj, out_proj: no GEMM of dt_proj's own.
        Assert.Equal(new[] { "linear", "conv.decode", "linear", "scan.decode.projected", "linear" }, recording.Calls);
        Assert.True(expected.allclose(y, 0, 0));
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void An_op_set_that_delegates_to_the_reference_gives_the_reference_outputs_and_states(string kind)
    {
        var viaReference = MixerUnderTest.Create(kind);
        var viaRecording = MixerUnderTest.Create(kind);
        using var cacheA = viaReference.Allocate(3);
        using var cacheB = viaRecording.Allocate(3);
        var recording = new RecordingOps();
        var ops = MambaOps.Of("recording", recording);
        var builder = MixerUnderTest.Builder(kind, ops);
        var step = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 7, 2) });

        using var metadata = builder.Build(step);
        using var referenceMetadata = MixerUnderTest.Builder(kind, MambaOps.Reference).Build(step);
        var y = ((IMambaMixer)viaRecording.Layer).Forward(viaRecording.Hidden(3, 7), metadata);
        var expected = ((IMambaMixer)viaReference.Layer).Forward(viaReference.Hidden(3, 7), referenceMetadata);

        Assert.True(expected.allclose(y, 0, 0));
        for (int i = 0; i < viaReference.Layer.KvCache.Count; i++)
        {
            Assert.True(viaReference.Layer.KvCache[i][2].allclose(viaRecording.Layer.KvCache[i][2], 0, 0));
        }
    }

    [Fact]
    public void The_cpu_runs_the_fused_decode_loops_and_its_builders_carry_them()
    {
        var cpu = OpsSelection.For(CPU);
        Assert.Equal("fused CPU decode loops", cpu.Name);
        Assert.StartsWith("fused CPU decode loops (device cpu", OpsSelection.Describe(CPU));
        Assert.Same(cpu, new MambaMetadataBuilder(CPU).Ops);
        using var metadata = new Mamba2MetadataBuilder(CPU, 8).Build(new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 3, 0) }));
        Assert.Same(cpu, metadata.Ops);
    }

    /// <summary>Records which family each call reaches, then runs the reference.</summary>
    private sealed class RecordingOps : IConvOps, ISsdOps, ISelectiveScanOps, INormOps, ILinearOps
    {
        private static readonly ReferenceOps Reference = ReferenceOps.Instance;

        public List<string> Calls { get; } = new();

        public Tensor Forward(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, PrefillBatch batch) =>
            Record("conv.prefill", Reference.Forward(x, weight, bias, silu, convStates, batch));

        public Tensor Update(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, DecodeBatch batch) =>
            Record("conv.decode", Reference.Update(x, weight, bias, silu, convStates, batch));

        public Tensor ChunkScan(Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus, (double Min, double Max) dtLimit, Tensor ssmStates, PrefillBatch batch) =>
            Record("ssd.prefill", Reference.ChunkScan(x, dt, aLog, b, c, d, dtBias, dtSoftplus, dtLimit, ssmStates, batch));

        public Tensor StateUpdate(Tensor ssmStates, Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus, (double Min, double Max) dtLimit, DecodeBatch batch) =>
            Record("ssd.decode", Reference.StateUpdate(ssmStates, x, dt, aLog, b, c, d, dtBias, dtSoftplus, dtLimit, batch));

        public Tensor Forward(Tensor u, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus, Tensor ssmStates, PrefillBatch batch) =>
            Record("scan.prefill", Reference.Forward(u, delta, aLog, b, c, d, z, deltaBias, deltaSoftplus, ssmStates, batch));

        public Tensor Update(Tensor ssmStates, Tensor x, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch) =>
            Record("scan.decode", Reference.Update(ssmStates, x, delta, aLog, b, c, d, z, deltaBias, deltaSoftplus, batch));

        /// <summary>Whether <see cref="UpdateProjected"/> takes dt_proj, as a fused kernel would; else null, as the default.</summary>
        public bool FusesDtProjection { get; init; }

        public Tensor? UpdateProjected(Tensor ssmStates, Tensor x, Tensor deltaLow, Tensor deltaWeight, Tensor aLog, Tensor b, Tensor c, Tensor? d,
            Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch) =>
            FusesDtProjection
                ? Record("scan.decode.projected", Reference.Update(ssmStates, x, Reference.Linear(deltaLow, deltaWeight, null), aLog, b, c, d, z, deltaBias, deltaSoftplus, batch))
                : null;

        public Tensor AddRmsNorm(Tensor residual, Tensor? delta, Tensor weight, double eps, bool castInput) =>
            Record("norm.add", Reference.AddRmsNorm(residual, delta, weight, eps, castInput));

        public Tensor GatedRmsNorm(Tensor x, Tensor z, Tensor weight, int groupSize, double eps) =>
            Record("norm.gated", Reference.GatedRmsNorm(x, z, weight, groupSize, eps));

        public Tensor Linear(Tensor x, Tensor weight, Tensor? bias) => Record("linear", Reference.Linear(x, weight, bias));

        private Tensor Record(string call, Tensor result)
        {
            Calls.Add(call);
            return result;
        }
    }
}
