using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Models;

/// <summary>
/// HF's MambaForCausalLM / Mamba2ForCausalLM on the MambaGen runtime: backbone and LM head (tied to the embeddings
/// when the config says so), run one varlen step at a time over the state cache.
/// </summary>
public sealed class MambaLanguageModel : nn.Module, ICausalLanguageModel
{
    private readonly MambaBackbone backbone;
    private readonly Linear? lm_head;
    private MambaMetadataBuilder _metadataBuilder;
    private readonly int _chunkSize;

    private MambaLanguageModel(MambaCheckpointConfig checkpointConfig, EngineConfig engineConfig, MambaBackbone backbone, Linear? lmHead)
        : base("model")
    {
        CheckpointConfig = checkpointConfig;
        EngineConfig = engineConfig;
        this.backbone = backbone;
        lm_head = lmHead;
        RegisterComponents();
        Mixers = backbone.Blocks.Select(b => b.Mixer).ToArray();
        _chunkSize = checkpointConfig is Mamba2CheckpointConfig m2 ? m2.ChunkSize : Mamba2MetadataBuilder.DefaultChunkSize;
        _metadataBuilder = Mixers[0].GetAttnBackend().CreateMetadataBuilder(torch.CPU, _chunkSize);
    }

    public MambaCheckpointConfig CheckpointConfig { get; }

    public EngineConfig EngineConfig { get; }

    /// <summary>The mamba layers, in order: what the state cache allocates for.</summary>
    public IReadOnlyList<MambaBase> Mixers { get; }

    public int VocabSize => CheckpointConfig.VocabSize;

    public Device Device => backbone.Embeddings.weight!.device;

    /// <summary>The backend's metadata builder for the device the model is on now (rebuilt once after a move).</summary>
    private MambaMetadataBuilder Builder
    {
        get
        {
            var device = Device;
            if (_metadataBuilder.Device.ToString() != device.ToString())
            {
                _metadataBuilder = Mixers[0].GetAttnBackend().CreateMetadataBuilder(device, _chunkSize);
                // Graphs of the old device hold its addresses, and the CPU step its tensors.
                _graphs?.Dispose();
                (_graphs, _graphsOff) = (null, null);
                (_cpuDecode, _cpuDecodeOff) = (null, null);
            }

            return _metadataBuilder;
        }
    }

    /// <summary>Builds the model of <paramref name="config"/> with default weights, in the engine config's dtype, on the CPU.</summary>
    /// <exception cref="CheckpointException">The config is invalid (<see cref="MambaCheckpointConfig.Validate"/>), or its
    /// weights would not fit in this machine's memory: refused before anything is allocated.</exception>
    public static MambaLanguageModel Create(MambaCheckpointConfig config, EngineConfig engineConfig) => Create(config, engineConfig, null, forLoading: false);

    /// <param name="config">The checkpoint's config.</param>
    /// <param name="engineConfig">The engine's config; its model dtype is the activations' and every other weight's.</param>
    /// <param name="projectionDtype">The dtype of the matmul weights (the projections, the embeddings and the LM head)
    /// when it differs from the model dtype (mixed precision); their values are left for the loader to fill.</param>
    /// <param name="forLoading">The loader fills every weight next: the embeddings and the LM head, the largest
    /// weights, skip their random init (a 50k x 768 embedding's took about 0.2 s of a load).</param>
    private static MambaLanguageModel Create(MambaCheckpointConfig config, EngineConfig engineConfig, ScalarType? projectionDtype, bool forLoading)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(engineConfig);
        config.Validate();
        var dtype = engineConfig.Model.Dtype;
        RequireMemory(config, projectionDtype ?? dtype);

        var matmulDtype = projectionDtype ?? dtype;
        // Block by block, so a mixed model never holds all its projections in the wider dtype at once.
        var blocks = Enumerable.Range(0, config.NumHiddenLayers).Select(i => new MambaBlock(
            i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            new RmsNorm("norm", config.HiddenSize, config.LayerNormEpsilon, dtype),
            WithProjections(CreateMixer(config, engineConfig, $"backbone.layers.{i}.mixer"), projectionDtype),
            config.ResidualInFp32)).ToArray();
        Embedding embeddings;
        Linear? lmHead = null;
        if (forLoading)
        {
            // Built one column wide, then given an uninitialised weight of the full size.
            embeddings = nn.Embedding(config.VocabSize, 1, dtype: matmulDtype);
            embeddings.weight = new Parameter(torch.empty(config.VocabSize, config.HiddenSize, dtype: matmulDtype), requires_grad: false);
            if (!config.TieWordEmbeddings)
            {
                lmHead = nn.Linear(1, config.VocabSize, hasBias: false, dtype: matmulDtype);
                lmHead.weight = new Parameter(torch.empty(config.VocabSize, config.HiddenSize, dtype: matmulDtype), requires_grad: false);
            }
        }
        else
        {
            embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, dtype: matmulDtype);
            lmHead = config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, dtype: matmulDtype);
        }

        var backbone = new MambaBackbone("backbone", embeddings, blocks, new RmsNorm("norm_f", config.HiddenSize, config.LayerNormEpsilon, dtype));
        return new MambaLanguageModel(config, engineConfig, backbone, lmHead);
    }

    /// <summary>The mixer with its projection weights replaced by uninitialised ones of <paramref name="dtype"/> (the loader fills them).</summary>
    private static MambaBase WithProjections(MambaBase mixer, ScalarType? dtype)
    {
        if (dtype is { } d)
        {
            MixedPrecision.SetLinearWeights(mixer, w => torch.empty(w.shape, dtype: d));
        }

        return mixer;
    }

    /// <summary>
    /// Whether <see cref="Load"/> builds a model of <paramref name="dtype"/> on <paramref name="device"/> with mixed
    /// precision, as llama.cpp does on the CPU: bf16/f16 projection weights (the matmul operands, half the memory),
    /// fp32 activations, norms, conv, A, D, dt bias and states.
    /// </summary>
    public static bool UsesMixedPrecision(Device device, ScalarType dtype) => MixedPrecision.Uses(device, dtype);

    /// <summary>Opens a HuggingFace checkpoint folder, builds its model in <paramref name="dtype"/>, loads the weights
    /// (converting their dtype) and moves the model to <paramref name="device"/>. On the CPU a bf16/f16 model is mixed
    /// precision (<see cref="UsesMixedPrecision"/>): only its matmul weights are in <paramref name="dtype"/>.</summary>
    /// <remarks>The config is checked against the safetensors headers (<see cref="CheckpointLayout.Check"/>) before
    /// any model tensor is allocated; every loaded weight is checked to be finite.</remarks>
    /// <exception cref="CheckpointException">The config, the headers or the weights cannot be used, each problem
    /// naming the file and the key or tensor at fault.</exception>
    public static MambaLanguageModel Load(HuggingFaceCheckpoint checkpoint, Device device, ScalarType dtype = ScalarType.Float32,
        MambaCacheDtype ssmCacheDtype = MambaCacheDtype.Auto, int maxModelLen = 2048)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        CheckpointLayout.Check(checkpoint.Config, checkpoint.Weights, dtype);
        bool mixed = UsesMixedPrecision(device, dtype);
        var engine = new EngineConfig(
            new ModelConfig(checkpoint.Config.ModelType, mixed ? ScalarType.Float32 : dtype, maxModelLen),
            new CacheConfig { MambaSsmCacheDtype = ssmCacheDtype },
            new ParallelConfig(1));
        var model = Create(checkpoint.Config, engine, mixed ? dtype : null, forLoading: true);
        try
        {
            checkpoint.LoadInto(model);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        model.to(device);
        model.eval();
        return model;
    }

    private static void RequireMemory(MambaCheckpointConfig config, ScalarType dtype) =>
        ModelMemory.Require(CheckpointLayout.ParameterCount(config), dtype, config.SourcePath,
            $"hidden_size {config.HiddenSize}, num_hidden_layers {config.NumHiddenLayers}, vocab_size {config.VocabSize}");

    /// <summary>The logits at each request's last scheduled token: [num_reqs, vocab], fp32.</summary>
    public Tensor Forward(Tensor inputIds, CommonAttentionMetadata step) => Run(inputIds, step, allTokens: false);

    /// <summary>The logits at every scheduled token: [num_actual_tokens, vocab], fp32.</summary>
    public Tensor ForwardAllTokens(Tensor inputIds, CommonAttentionMetadata step) => Run(inputIds, step, allTokens: true);

    private Tensor Run(Tensor inputIds, CommonAttentionMetadata step, bool allTokens)
    {
        ArgumentNullException.ThrowIfNull(step);
        step.CheckInputIds(inputIds);

        using var noGrad = torch.no_grad();
        if (!allTokens && step.NumPrefills == 0 && inputIds.device_type == DeviceType.CPU && CpuDecode is { } cpu
            && cpu.TryRun(inputIds.data<long>().ToArray(), step.StateBlockIds) is { } logits)
        {
            return logits;
        }

        if (!allTokens && step.NumPrefills == 0 && Graphs is { } graphs)
        {
            // Host ids, or (async scheduling) the last step's picks still on the device.
            using var view = inputIds.device_type == DeviceType.CPU ? graphs.TryRun(inputIds.data<long>().ToArray(), step.StateBlockIds)
                : graphs.TryRun(inputIds, step.StateBlockIds);
            if (view is not null)
            {
                // A copy: the graph's output buffer is overwritten by the next replay.
                return view.clone();
            }
        }

        using var scope = torch.NewDisposeScope();
        using var metadata = Builder.Build(step);
        var h = backbone.Forward(Upload(inputIds), metadata);
        if (!allTokens)
        {
            // Only each request's last token needs the LM head.
            h = h.index_select(0, torch.tensor(step.LastTokenIndices, device: h.device));
        }

        var weight = lm_head?.weight ?? backbone.Embeddings.weight!;
        return metadata.Ops.Linear.Linear(h.to(EngineConfig.Model.Dtype), weight, null).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The largest pure-decode batch run as a CUDA graph (buckets 1, 2, 4, ... up to it; larger batches run eagerly);
    /// 0 turns decode graphs off. Graphs run only on CUDA with the fused kernels. Set it before the first step.
    /// </summary>
    public int DecodeGraphBatch { get; set; } = 256;

    /// <summary>The op set's greedy picks of the logits (the fused kernels' one launch on CUDA), if it has them.</summary>
    public Ops.IGreedyOps? Greedy => Builder.Ops.Greedy;

    /// <summary>How this model runs its steps on its device: the ops, and whether decode steps replay CUDA graphs.</summary>
    public string ExecutionPath
    {
        get
        {
            var ops = OpsSelection.Describe(Device);
            if (Device.type != DeviceType.CUDA)
            {
                if (Device.type == DeviceType.CPU && OpsSelection.For(Device).Linear is Cpu.CpuDecodeOps)
                {
                    ops += CpuDecode is null ? $"; decode steps op by op ({_cpuDecodeOff})" : $"; decode steps of up to {Cpu.CpuDecodeStep.MaxRows} rows in one pass";
                }

                return MixedPrecision.Describe(ops, backbone.Embeddings.weight!.dtype, EngineConfig.Model.Dtype);
            }

            var graphs = Graphs;
            return graphs is null ? $"{ops}; decode steps eager ({_graphsOff})"
                : graphs.Disabled is { } why ? $"{ops}; decode steps eager ({why})"
                : $"{ops}; decode steps as CUDA graphs up to batch {graphs.LargestBatch}";
        }
    }

    private DecodeGraphs? _graphs;
    private string? _graphsOff;
    private Cpu.CpuDecodeStep? _cpuDecode;
    private string? _cpuDecodeOff;

    /// <summary>The CPU's one-pass decode step where the model is on the CPU with the fused loops; null elsewhere.</summary>
    private Cpu.CpuDecodeStep? CpuDecode
    {
        get
        {
            _ = Builder;
            if (_cpuDecode is null && _cpuDecodeOff is null)
            {
                string reason = "the model is not on the CPU";
                if (Device.type == DeviceType.CPU)
                {
                    reason = "the CPU ops are the reference ones";
                    _cpuDecode = OpsSelection.For(Device).Linear is Cpu.CpuDecodeOps loops
                        ? Cpu.CpuDecodeStep.TryCreate(loops, backbone.Embeddings.weight!, lm_head?.weight ?? backbone.Embeddings.weight!, backbone.Blocks, backbone.FinalNorm, out reason)
                        : null;
                }

                _cpuDecodeOff = _cpuDecode is null ? reason : null;
            }

            return _cpuDecode;
        }
    }

    /// <summary>The decode graphs of the current device, made on first use; null where they are off.</summary>
    private DecodeGraphs? Graphs
    {
        get
        {
            var builder = Builder;
            if (_graphs is null && _graphsOff is null)
            {
                string reason = "DecodeGraphBatch is 0";
                _graphs = DecodeGraphBatch > 0 ? DecodeGraphs.TryCreate(DecodeForward, builder, Mixers, DecodeGraphBatch, out reason) : null;
                _graphsOff = _graphs is null ? reason : null;
            }

            return _graphs;
        }
    }

    /// <summary>Host ids go through pinned memory without stalling the device; device ids stay where they are.</summary>
    private Tensor Upload(Tensor inputIds) =>
        inputIds.device_type == DeviceType.CPU && Device.type != DeviceType.CPU ? Ops.OpArgs.Upload(inputIds.to(ScalarType.Int64).data<long>().ToArray(), Device) : inputIds.to(Device);

    /// <summary>A pure-decode forward on device ids with given metadata: what a decode graph captures.</summary>
    private Tensor DecodeForward(Tensor ids, MambaAttentionMetadata metadata)
    {
        using var scope = torch.NewDisposeScope();
        var h = backbone.Forward(ids, metadata);
        var weight = lm_head?.weight ?? backbone.Embeddings.weight!;
        return metadata.Ops.Linear.Linear(h.to(EngineConfig.Model.Dtype), weight, null).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>The mixer of the config's model type, named as in the checkpoint.</summary>
    private static MambaBase CreateMixer(MambaCheckpointConfig config, EngineConfig engine, string name) => config switch
    {
        Mamba2CheckpointConfig m2 => new Mamba2Mixer(name, engine, new Mamba2MixerOptions
        {
            HiddenSize = m2.HiddenSize,
            NumHeads = m2.NumHeads,
            HeadDim = m2.HeadDim,
            NGroups = m2.NGroups,
            StateSize = m2.StateSize,
            ConvKernel = m2.ConvKernel,
            ChunkSize = m2.ChunkSize,
            UseBias = m2.UseBias,
            UseConvBias = m2.UseConvBias,
            LayerNormEpsilon = m2.LayerNormEpsilon,
            TimeStepLimit = (m2.TimeStepLimitMin, m2.TimeStepLimitMax),
        }),
        Mamba1CheckpointConfig m1 => new Mamba1Mixer(name, engine, new Mamba1MixerOptions
        {
            HiddenSize = m1.HiddenSize,
            IntermediateSize = m1.IntermediateSize,
            StateSize = m1.StateSize,
            ConvKernel = m1.ConvKernel,
            TimeStepRank = m1.TimeStepRank,
            UseBias = m1.UseBias,
            UseConvBias = m1.UseConvBias,
        }),
        _ => throw new NotSupportedException($"{config.SourcePath}: model_type '{config.ModelType}' has no MambaGen model."),
    };
}
