using System;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Layers;

/// <summary>
/// One runtime mixer with small seeded weights, driven as the engine drives it: a <see cref="CommonAttentionMetadata"/>
/// per step, built into the backend's metadata, and a <see cref="MambaStateCache"/> bound into the layer.
/// </summary>
internal sealed class MixerUnderTest
{
    public const string Mamba1 = "mamba1";
    public const string Mamba2 = "mamba2";
    public const string Mamba2TwoGroups = "mamba2_two_groups";
    public const string ShortConvKind = "short_conv";

    /// <summary>Mamba2 with a state dim of 40 and 2 groups: kernels that split a p row's state over threads pad it.</summary>
    public const string Mamba2WideState = "mamba2_wide_state";

    /// <summary>Mamba2 with 2 heads of 80 p rows and a state dim of 128, as real checkpoints have: the tensor-core SSD's
    /// tiles full (64 p rows; 64 and 32 state columns) and a second p tile partly.</summary>
    public const string Mamba2FullTiles = "mamba2_full_tiles";

    /// <summary>Mamba2's SSD chunk size: 4 divides none of the prompt lengths the tests use.</summary>
    public const int SsdChunkSize = 4;

    private readonly Func<Tensor, MambaAttentionMetadata, Tensor> _forward;
    private readonly MambaMetadataBuilder _builder;

    private MixerUnderTest(string kind, MambaBase layer, int hiddenSize, Func<Tensor, MambaAttentionMetadata, Tensor> forward)
    {
        Kind = kind;
        Layer = layer;
        HiddenSize = hiddenSize;
        _forward = forward;
        _builder = layer.GetAttnBackend().CreateMetadataBuilder(CPU, SsdChunkSize);
    }

    public static TheoryData<string> AllKinds => new() { Mamba1, Mamba2, Mamba2TwoGroups, ShortConvKind };

    public static TheoryData<string> KindsWithSsmState => new() { Mamba1, Mamba2, Mamba2TwoGroups };

    public string Kind { get; }

    public MambaBase Layer { get; }

    public int HiddenSize { get; }

    /// <summary>The layer of <paramref name="kind"/>, its weights drawn from <paramref name="seed"/> (in fp32, then cast to the model dtype).</summary>
    public static MixerUnderTest Create(string kind, long seed = 1234, ScalarType dtype = ScalarType.Float32,
        MambaCacheDtype ssmCacheDtype = MambaCacheDtype.Auto, int tensorParallelSize = 1, string name = "layers.0.mixer")
    {
        var config = new EngineConfig(
            new ModelConfig(kind == ShortConvKind ? "lfm2" : kind == Mamba1 ? "mamba" : "mamba2", dtype, 64),
            new CacheConfig { MambaSsmCacheDtype = ssmCacheDtype },
            new ParallelConfig(tensorParallelSize));
        MixerUnderTest mixer = kind switch
        {
            Mamba1 => Wrap(new Mamba1Mixer(name, config, new Mamba1MixerOptions
            {
                HiddenSize = 12, IntermediateSize = 24, StateSize = 6, ConvKernel = 4, TimeStepRank = 3, UseBias = true,
            })),
            Mamba2 or Mamba2TwoGroups or Mamba2WideState => Wrap(new Mamba2Mixer(name, config, new Mamba2MixerOptions
            {
                HiddenSize = 12, NumHeads = 4, HeadDim = 6, NGroups = kind == Mamba2 ? 1 : 2, StateSize = kind == Mamba2WideState ? 40 : 8,
                ConvKernel = 4, ChunkSize = SsdChunkSize,
            })),
            Mamba2FullTiles => Wrap(new Mamba2Mixer(name, config, new Mamba2MixerOptions
            {
                HiddenSize = 12, NumHeads = 2, HeadDim = 80, NGroups = 1, StateSize = 128, ConvKernel = 4, ChunkSize = SsdChunkSize,
            })),
            ShortConvKind => Wrap(new ShortConv(name, config, 12, 3, bias: true)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown mixer kind."),
        };
        SeedWeights(mixer.Layer, seed);
        return mixer;

        MixerUnderTest Wrap(MambaBase layer) => new(kind, layer, 12, ((IMambaMixer)layer).Forward);
    }

    /// <summary>Overwrites every weight with seeded values (norm weights near 1), so runs are reproducible and no
    /// default (ones, log-arange) hides a mix-up between channels.</summary>
    public static void SeedWeights(nn.Module module, long seed, double scale = 0.3)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var g = new Generator((ulong)seed);
        foreach (var (name, p) in module.named_parameters())
        {
            var noise = torch.randn(p.shape, dtype: ScalarType.Float32, generator: g);
            p.copy_(name.EndsWith("norm.weight", StringComparison.Ordinal) || name.EndsWith("norm_f.weight", StringComparison.Ordinal) ? noise * 0.1 + 1 : noise * scale);
            p.requires_grad = false;
        }
    }

    /// <summary>The metadata builder of <paramref name="kind"/>'s backend on the CPU, carrying <paramref name="ops"/>.</summary>
    public static MambaMetadataBuilder Builder(string kind, MambaGen.Ops.MambaOps ops) => kind is Mamba2 or Mamba2TwoGroups or Mamba2WideState or Mamba2FullTiles
        ? new Mamba2MetadataBuilder(CPU, SsdChunkSize, ops)
        : new MambaMetadataBuilder(CPU, ops);

    public MambaStateCache Allocate(int numBlocks) => MambaStateCache.Allocate(new[] { Layer }, numBlocks, CPU);

    /// <summary>
    /// Fills every state of this layer's bound cache with seeded noise and copies it into <paramref name="twin"/>'s:
    /// dirty blocks, since whatever a block held must only matter where a step resumes it.
    /// </summary>
    public void DirtyStates(MixerUnderTest twin, ulong seed)
    {
        using var noGrad = torch.no_grad();
        for (int i = 0; i < Layer.KvCache.Count; i++)
        {
            var garbage = torch.randn(Layer.KvCache[i].shape, generator: new Generator(seed)).to(Layer.KvCache[i].dtype);
            Layer.KvCache[i].copy_(garbage);
            twin.Layer.KvCache[i].copy_(garbage);
        }
    }

    /// <summary>Runs one step of <paramref name="requests"/> (decodes first) over the hidden states of their tokens, back to back.</summary>
    public Tensor Step(Tensor hidden, params ScheduledRequest[] requests) => Step(hidden, new CommonAttentionMetadata(requests));

    public Tensor Step(Tensor hidden, CommonAttentionMetadata common)
    {
        using var metadata = _builder.Build(common);
        return _forward(hidden, metadata);
    }

    /// <summary>Copies of every state of <paramref name="block"/>, in GetStateShape order.</summary>
    public Tensor[] StatesOf(int block) => Layer.KvCache.Select(s => s[block].clone()).ToArray();

    /// <summary>Seeded hidden states [tokens, hidden] in <paramref name="dtype"/>.</summary>
    public Tensor Hidden(long seed, int tokens, ScalarType dtype = ScalarType.Float32)
    {
        using var g = new Generator((ulong)seed);
        return torch.randn(new long[] { tokens, HiddenSize }, dtype: ScalarType.Float32, generator: g).to(dtype);
    }
}
