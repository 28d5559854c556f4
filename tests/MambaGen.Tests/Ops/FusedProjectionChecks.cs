using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Checkpoints;
using MambaGen.Models;
using MambaGen.Testing;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Ops;

/// <summary>
/// One check for every implementation of <see cref="IFusedProjectionOps"/> (the CUDA kernels under the emulator, the
/// CPU loops): each fused projection against <see cref="ComposedProjections.Reference"/>, from dirty states, with a
/// padding row among the decodes.
/// </summary>
internal static class FusedProjectionChecks
{
    /// <param name="kernels">The fused projections under test.</param>
    /// <param name="linear">The same op set's plain projection, checked on a strided slice.</param>
    /// <param name="dtype">The activations', norms', conv's and SSM's dtype.</param>
    /// <param name="weightDtype">The projection weights' dtype (bf16 under fp32 activations: the CPU's mixed precision).</param>
    /// <param name="residualDtype">The residual stream's dtype.</param>
    public static void MatchTheOpsTheyFuse(IFusedProjectionOps kernels, ILinearOps linear, int rows, ScalarType dtype, ScalarType weightDtype, ScalarType residualDtype,
        int hidden = 48, int inner = 80, int groupSize = 40)
    {
        var composed = ComposedProjections.Reference;
        double tolerance = dtype == ScalarType.BFloat16 || weightDtype == ScalarType.BFloat16 ? 2e-2 : 1e-5;
        using var g = new Generator(11);
        Tensor Random(params long[] shape) => torch.randn(shape, generator: g);
        var residual = Random(rows, hidden).to(residualDtype);
        var normWeight = (Random(hidden) * 0.1 + 1).to(dtype);
        var inProj = (Random(2 * inner, hidden) * 0.2).to(weightDtype);
        var inBias = (Random(2 * inner) * 0.1).to(dtype);
        var y = Random(rows, inner).to(dtype);
        var z = Random(rows, inner).to(dtype);
        var gatedWeight = (Random(inner) * 0.1 + 1).to(dtype);
        var outProj = (Random(hidden, inner) * 0.2).to(weightDtype);

        OpsAssert.Close(composed.NormLinear(residual, normWeight, 1e-5, inProj, inBias), kernels.NormLinear(residual, normWeight, 1e-5, inProj, inBias),
            tolerance, tolerance, "RMSNorm + in_proj");
        var (expected, actual) = (residual.clone(), residual.clone());
        composed.LinearAddInto(expected, y, outProj, null);
        kernels.LinearAddInto(actual, y, outProj, null);
        OpsAssert.Close(expected, actual, tolerance, tolerance, "out_proj added into the residual");
        (expected, actual) = (residual.clone(), residual.clone());
        composed.GatedNormLinearAddInto(expected, y, z, gatedWeight, groupSize, 1e-5, outProj, null);
        kernels.GatedNormLinearAddInto(actual, y, z, gatedWeight, groupSize, 1e-5, outProj, null);
        OpsAssert.Close(expected, actual, tolerance, tolerance, "gated RMSNorm + out_proj added into the residual");
        // Decodes (the second row a padding row when there are two or more) with the conv update on columns [16, 16 + 40).
        var requests = Enumerable.Range(0, rows).Select(i => i == 1 ? ScheduledRequest.Padding() : new ScheduledRequest(3, 1, i + 1)).ToArray();
        using var metadata = new MambaMetadataBuilder(CPU, MambaOps.Reference).Build(new CommonAttentionMetadata(requests));
        var convWeight = Random(40, 4).to(dtype);
        var convBias = Random(40).to(dtype);
        var convStates = Random(rows + 2, 3, 40).to(dtype);
        var (statesA, statesB) = (convStates.clone(), convStates.clone());
        var convolvedA = composed.NormLinearConv(residual, normWeight, 1e-5, inProj, inBias, 16, convWeight, convBias, true, statesA, metadata.Decode);
        var convolvedB = kernels.NormLinearConv(residual, normWeight, 1e-5, inProj, inBias, 16, convWeight, convBias, true, statesB, metadata.Decode);
        var real = torch.tensor(Enumerable.Range(0, rows).Where(i => i != 1).Select(i => (long)i).ToArray());
        OpsAssert.Close(convolvedA.index_select(0, real), convolvedB.index_select(0, real), tolerance, tolerance, "RMSNorm + in_proj + conv update");
        OpsAssert.Close(statesA, statesB, tolerance, tolerance, "conv states after the fused update");
        // Mamba-1's state update with dt_proj inside, from dirty SSM states (24 channels, state 6, dt rank 8).
        var ssmStates = Random(rows + 2, 24, 6).to(dtype);
        var (ssmA, ssmB) = (ssmStates.clone(), ssmStates.clone());
        var u = Random(rows, 24).to(dtype);
        var xdbl = Random(rows, 8 + 12).to(dtype);
        var (dtLow, bs, cs) = (xdbl.narrow(1, 0, 8), xdbl.narrow(1, 8, 6), xdbl.narrow(1, 14, 6));
        var dtWeight = (Random(24, 8) * 0.3).to(weightDtype);
        var aLog = Random(24, 6).to(dtype);
        var (dSkip, gate, dtBias) = (Random(24).to(dtype), Random(rows, 24).to(dtype), Random(24).to(dtype));
        var scannedA = composed.SelectiveUpdateProjected(ssmA, u, dtLow, dtWeight, aLog, bs, cs, dSkip, gate, dtBias, true, metadata.Decode);
        var scannedB = kernels.SelectiveUpdateProjected(ssmB, u, dtLow, dtWeight, aLog, bs, cs, dSkip, gate, dtBias, true, metadata.Decode);
        OpsAssert.Close(scannedA.index_select(0, real), scannedB.index_select(0, real), tolerance, tolerance, "selective update with dt_proj");
        OpsAssert.Close(ssmA, ssmB, tolerance, tolerance, "SSM states after the update with dt_proj");
        // A plain projection of a strided view (Mamba-1's dt_proj reads a slice of x_proj's output).
        var wide = Random(rows, inner + 16).to(dtype);
        var slice = wide.narrow(1, 0, inner);
        OpsAssert.Close(MambaOps.Reference.Linear.Linear(slice, outProj, null), linear.Linear(slice, outProj, null), tolerance, tolerance, "plain projection");
    }

    /// <summary>
    /// A fixture model's final hidden states through <paramref name="ops"/> (its fused projections taking every step of
    /// at most 8 rows) equal the reference ops' over a 6-token prefill and two decode steps with a padding row.
    /// </summary>
    public static void ModelDecodesTheSame(MambaOps ops, string fixture, string dtypeName)
    {
        using var scope = torch.NewDisposeScope();
        // bf16 weights with the residual stream in fp32 (the fixtures' residual_in_fp32), as the benchmark models run.
        var dtype = dtypeName == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
        double tolerance = dtype == ScalarType.BFloat16 ? 3e-2 : 1e-4;
        using var model = MambaLanguageModel.Load(HuggingFaceCheckpoint.Open(RepoPaths.Combine("tests", "fixtures", fixture)), CPU, dtype);
        var backbone = (MambaBackbone)model.named_children().Single(c => c.name == "backbone").module;
        int chunk = model.CheckpointConfig is Mamba2CheckpointConfig m2 ? m2.ChunkSize : 8;
        MambaMetadataBuilder Builder(MambaOps ops) => fixture == "dev-mamba2" ? new Mamba2MetadataBuilder(CPU, chunk, ops) : new MambaMetadataBuilder(CPU, ops);
        Tensor[] Run(MambaOps ops)
        {
            using var cache = MambaStateCache.Allocate(model.Mixers, 3, CPU);
            var builder = Builder(ops);
            var outputs = new System.Collections.Generic.List<Tensor>();
            // A prefill of 6 tokens (fused: at most 8 rows), then two decode steps of two rows with a padding row.
            var steps = new[]
            {
                new[] { new ScheduledRequest(0, 4, 0), new ScheduledRequest(0, 2, 2) },
                new[] { new ScheduledRequest(4, 1, 0), ScheduledRequest.Padding(), new ScheduledRequest(2, 1, 2) },
                new[] { new ScheduledRequest(5, 1, 0), new ScheduledRequest(3, 1, 2) },
            };
            long id = 3;
            foreach (var requests in steps)
            {
                var common = new CommonAttentionMetadata(requests);
                using var metadata = builder.Build(common);
                var ids = torch.tensor(Enumerable.Range(0, common.NumActualTokens).Select(_ => id++ % model.VocabSize).ToArray());
                var real = torch.tensor(Enumerable.Range(0, requests.Length).Where(i => !requests[i].IsPadding)
                    .SelectMany(i => Enumerable.Range(common.QueryStartLoc[i], requests[i].NumScheduledTokens)).Select(t => (long)t).ToArray());
                outputs.Add(backbone.Forward(ids, metadata).index_select(0, real));
            }

            return outputs.ToArray();
        }

        var fused = Run(ops);
        var reference = Run(MambaOps.Reference);
        for (int i = 0; i < fused.Length; i++)
        {
            OpsAssert.Close(reference[i], fused[i], tolerance, tolerance, $"{fixture} {dtypeName} step {i}: final hidden states");
        }
    }
}
