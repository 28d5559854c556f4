using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Attention;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Models.Hybrid;

/// <summary>
/// A hybrid decoder-only model built from a <see cref="HybridModelConfig"/>: embeddings (× the μP embedding
/// multiplier), one <see cref="HybridDecoderLayer"/> per entry of the config's layer types, the final norm and the LM
/// head (÷ logits scaling). Its mamba and attention layers share one page pool (<see cref="AllocateCache"/>); each step
/// builds one metadata per cache group with that group's backend, and every layer reads its own group's.
/// Beside <see cref="MambaLanguageModel"/>, which keeps the pure-Mamba path and its CUDA decode graphs.
/// </summary>
public sealed class HybridLanguageModel : nn.Module, ICausalLanguageModel
{
    // A tuple, not module fields: TorchSharp would register those under their C# names; they go under the
    // checkpoint's (model.embed_tokens, model.layers, model.{final norm}, lm_head).
    private readonly (Embedding Embed, HybridDecoderLayer[] Layers, RmsNorm FinalNorm, Linear? LmHead) _m;
    private HybridPageLayout? _layout;
    private (string Device, object[] Builders)? _builders;

    private HybridLanguageModel(HybridModelConfig config, EngineConfig engine, Embedding embed, HybridDecoderLayer[] layers, RmsNorm finalNorm, Linear? lmHead)
        : base("model")
    {
        Config = config;
        EngineConfig = engine;
        _m = (embed, layers, finalNorm, lmHead);
        var body = new Body(config.Names, embed, nn.ModuleList(layers), finalNorm);
        register_module(config.Names.Root, body);
        if (lmHead is not null)
        {
            register_module("lm_head", lmHead);
        }

        MambaLayers = layers.SelectMany(l => l.Mixers).OfType<MambaLayerMixer>().Select(m => m.Layer).ToArray();
        AttentionLayers = layers.SelectMany(l => l.Mixers).OfType<AttentionMixer>().Select(m => m.Layer).ToArray();
    }

    public HybridModelConfig Config { get; }

    public EngineConfig EngineConfig { get; }

    public IReadOnlyList<HybridDecoderLayer> Layers => _m.Layers;

    /// <summary>The layers that keep a mamba state, in model order.</summary>
    public IReadOnlyList<MambaBase> MambaLayers { get; }

    /// <summary>The layers that keep K and V, in model order.</summary>
    public IReadOnlyList<SelfAttention> AttentionLayers { get; }

    public int VocabSize => Config.VocabSize;

    public Device Device => _m.Embed.weight!.device;

    /// <summary>config.json's <c>max_position_embeddings</c>: the engine refuses longer requests.</summary>
    public int? MaxSequenceLength => Config.MaxPositionEmbeddings;

    public string MaxSequenceLengthSource => $"{Config.SourcePath}: max_position_embeddings";

    /// <summary>The device's op set's greedy picks of the logits (the fused kernels' one launch on CUDA), if it has them.</summary>
    public Ops.IGreedyOps? Greedy => OpsSelection.For(Device).Greedy;

    /// <summary>How this model runs its steps on its device: the mamba layers' ops, attention's path, and the dtypes.</summary>
    public string ExecutionPath
    {
        get
        {
            var path = $"{OpsSelection.Describe(Device)}; attention by TorchSharp's scaled dot-product attention over gathered pages";
            if (Device.type == DeviceType.CUDA)
            {
                var graphs = _layout is { } layout ? Graphs(layout) : null;
                path += graphs is null ? $"; decode steps eager ({_graphsOff ?? "no cache allocated yet"})"
                    : graphs.Disabled is { } why ? $"; decode steps eager ({why})"
                    : $"; decode steps as CUDA graphs up to batch {graphs.LargestBatch}";
            }

            return MixedPrecision.Describe(path, _m.Embed.weight!.dtype, EngineConfig.Model.Dtype);
        }
    }

    /// <summary>
    /// The largest pure-decode batch run as a CUDA graph (buckets 1, 2, 4, ... up to it, and attention block tables
    /// padded to 1, 2, 4, ... blocks; larger batches run eagerly); 0 turns decode graphs off. Graphs run only on CUDA
    /// with the fused kernels, and not for models with a mixture of experts (its routing reads expert counts back to
    /// the host) or a user's registered layer. Set it before the first step.
    /// </summary>
    /// <remarks>Opt-in (<see cref="GraphsVariable"/>=1) until a GPU has checked them against the eager steps: they
    /// were written and checked uncaptured on the CPU in a session the GPU machine was not lent again.</remarks>
    public int DecodeGraphBatch { get; set; } = 256;

    /// <summary>The environment variable that turns hybrid decode graphs on (1, true or on); off by default for now.</summary>
    public const string GraphsVariable = "MAMBAGEN_HYBRID_DECODE_GRAPHS";

    /// <summary>Runs decode steps through <see cref="HybridDecodeGraphs"/> without capturing (each replay eager) on any
    /// device: the tests' way to check the graphs' inputs and metadata on the CPU.</summary>
    internal bool UncapturedDecodeGraphs { get; set; }

    private HybridDecodeGraphs? _graphs;
    private string? _graphsOff;

    /// <summary>How many (batch, width) buckets have a decode graph now (tests).</summary>
    internal int DecodeGraphBuckets => _graphs?.CapturedBuckets ?? 0;

    /// <summary>Why decode steps are not graphs, once a step has asked; null while they are (tests).</summary>
    internal string? DecodeGraphsOff => _graphs?.Disabled ?? _graphsOff;

    /// <summary>The decode graphs of the current cache and device, made on first use; null where they are off.</summary>
    private HybridDecodeGraphs? Graphs(HybridPageLayout layout)
    {
        var device = Device;
        var builders = Builders(layout, device);
        if (_graphs is null && _graphsOff is null)
        {
            _graphsOff = GraphsOff();
            if (_graphsOff is null)
            {
                var linear = OpsSelection.For(device).Linear;
                string reason = "";
                _graphs = UncapturedDecodeGraphs
                    ? HybridDecodeGraphs.Uncaptured(DecodeForward, layout, builders, linear, CacheTensors, device, DecodeGraphBatch)
                    : HybridDecodeGraphs.TryCreate(DecodeForward, layout, builders, linear, CacheTensors, device, DecodeGraphBatch, out reason);
                _graphsOff = _graphs is null ? reason : null;
            }
        }

        return _graphs;
    }

    /// <summary>Why this model's decode steps cannot be graphs, or null when they can as far as the model goes (the
    /// switch, the device and the kernels are <see cref="CapturedGraphs.TryPrepare"/>'s to decide).</summary>
    private string? GraphsOff()
    {
        if (DecodeGraphBatch <= 0)
        {
            return "DecodeGraphBatch is 0";
        }

        if (!UncapturedDecodeGraphs && !MambaGen.Config.EnvironmentSwitch.IsOn(GraphsVariable))
        {
            return $"hybrid decode graphs are opt-in until checked on a GPU: {GraphsVariable}=1";
        }

        if (_m.Layers.FirstOrDefault(l => l.Moe is not null) is { } moe)
        {
            return $"layer {moe.GetName()} has a mixture of experts, whose routing reads the chosen experts back to the host";
        }

        if (MambaLayers.FirstOrDefault(l => !IsBuiltIn(l)) is { } custom)
        {
            return $"layer '{custom.GetName()}' is a registered {custom.GetType().Name}, which a graph may not capture";
        }

        return null;
    }

    /// <summary>Whether a layer is the runtime's own, not a user's registered type (whose forward the runtime cannot see).</summary>
    private static bool IsBuiltIn(nn.Module layer) => layer.GetType().Assembly == typeof(HybridLanguageModel).Assembly;

    private Tensor[] CacheTensors() =>
        MambaLayers.SelectMany(m => m.KvCache).Concat(AttentionLayers.Select(a => a.KvCache).OfType<Tensor>()).ToArray();

    private void DropGraphs()
    {
        _graphs?.Dispose();
        (_graphs, _graphsOff) = (null, null);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DropGraphs();
        }

        base.Dispose(disposing);
    }

    /// <summary>The page layout of the last cache allocated for this model; null before one is.</summary>
    public HybridPageLayout? CacheLayout => _layout;

    /// <summary>Builds the model of <paramref name="config"/> with default weights in <paramref name="dtype"/> on the CPU.</summary>
    /// <param name="config">The model's description.</param>
    /// <param name="dtype">The weights' dtype.</param>
    /// <param name="ssmCacheDtype">The SSM states' dtype (vLLM's mamba_ssm_cache_dtype).</param>
    /// <param name="layers">The layer types it can build: <see cref="HybridLayerRegistry.BuiltIn"/> when null; a
    /// registry with a user's own types places those layers wherever the config's layer types name them.</param>
    /// <exception cref="CheckpointException">The weights would not fit in this machine's memory.</exception>
    /// <exception cref="ArgumentException">A layer type the registry does not know, naming it.</exception>
    public static HybridLanguageModel Create(HybridModelConfig config, ScalarType dtype = ScalarType.Float32, MambaCacheDtype ssmCacheDtype = MambaCacheDtype.Auto, HybridLayerRegistry? layers = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var registry = layers ?? HybridLayerRegistry.BuiltIn;
        // Unknown types are refused before anything is allocated.
        var mixerNames = config.LayerTypes.Select(t => HybridLayerTypes.MixersOf(t).Select(part => (Type: part, Name: registry.CheckpointName(part, config))).ToArray()).ToArray();
        foreach (var (parts, i) in mixerNames.Select((p, i) => (p, i)))
        {
            if (parts.Select(p => p.Name).Distinct(StringComparer.Ordinal).Count() != parts.Length)
            {
                throw new ArgumentException($"{config.SourcePath}: layer {i}'s mixers '{config.LayerTypes[i]}' share a checkpoint name ({string.Join(", ", parts.Select(p => p.Name))}); side by side they need one each.");
            }
        }

        ModelMemory.Require(ParameterCount(config), dtype, config.SourcePath,
            $"hidden_size {config.HiddenSize}, {config.LayerTypes.Count} layers, vocab_size {config.VocabSize}");
        var engine = new EngineConfig(new ModelConfig(config.ModelType, dtype, config.MaxPositionEmbeddings), new CacheConfig { MambaSsmCacheDtype = ssmCacheDtype }, new ParallelConfig(1));
        var decoderLayers = config.LayerTypes.Select((type, i) =>
        {
            var mixers = mixerNames[i].Select(p => ((IHybridMixer)registry.Create(p.Type, new HybridLayerContext($"{config.Names.Root}.layers.{i}.{p.Name}", i, config, engine)), p.Type, p.Name)).ToArray();
            var mlp = !config.MlpInEveryLayer ? null
                : config.FusedMlp ? GatedMlp.Fused(config.Names.Mlp, config.HiddenSize, config.MlpIntermediateSize, dtype)
                : GatedMlp.Separate(config.Names.Mlp, config.HiddenSize, config.MlpIntermediateSize, dtype, config.SeparateMlpNames, config.MlpMultipliers);
            var moe = config.Moe is { } e && mlp is not null ? new TopKMoe(config.Names.Moe, config.HiddenSize, e.IntermediateSize, e.NumExperts, e.TopK, dtype) : null;
            return new HybridDecoderLayer(i.ToString(System.Globalization.CultureInfo.InvariantCulture), type, mixers, mlp, moe, config, dtype);
        }).ToArray();
        var embed = nn.Embedding(config.VocabSize, config.HiddenSize, dtype: dtype);
        var lmHead = config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, dtype: dtype);
        var model = new HybridLanguageModel(config, engine, embed, decoderLayers, new RmsNorm(config.Names.FinalNorm, config.HiddenSize, config.NormEps, dtype), lmHead);
        model.eval();
        return model;
    }

    /// <summary>Opens a hybrid checkpoint folder, builds its model in <paramref name="dtype"/>, loads the weights and
    /// moves the model to <paramref name="device"/>.</summary>
    /// <exception cref="CheckpointException">The config or the weights cannot be used, naming the file and key or tensor.</exception>
    public static HybridLanguageModel Load(string folder, Device device, ScalarType dtype = ScalarType.Float32, MambaCacheDtype ssmCacheDtype = MambaCacheDtype.Auto)
    {
        var config = HybridModelConfig.Load(folder);
        var weights = SafetensorsCheckpoint.Open(folder);
        return Load(config, weights, device, dtype, ssmCacheDtype);
    }

    /// <summary>Builds the model of <paramref name="config"/> and loads <paramref name="weights"/> into it: every
    /// tensor of the model, custom layers' included, must be in the checkpoint under its name.</summary>

    public static HybridLanguageModel Load(HybridModelConfig config, SafetensorsCheckpoint weights, Device device, ScalarType dtype = ScalarType.Float32,
        MambaCacheDtype ssmCacheDtype = MambaCacheDtype.Auto, HybridLayerRegistry? layers = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        config = WithCheckpointRoot(config, weights);
        CheckSizesAgainstHeaders(config, weights);
        bool mixed = MixedPrecision.Uses(device, dtype);
        var model = Create(config, mixed ? ScalarType.Float32 : dtype, ssmCacheDtype, layers);
        try
        {
            if (mixed)
            {
                // Uninitialised: the loader fills them next.
                model.SetMatmulWeights(w => torch.empty(w.shape, dtype: dtype));
            }

            CheckpointLoader.LoadInto(model, weights, config.TieWordEmbeddings, CheckpointLoader.OutputEmbeddingName, config.Names.EmbeddingTensor);
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

    /// <summary>
    /// Mixed precision, as <see cref="Load(string, Device, ScalarType, MambaCacheDtype)"/> makes a bf16/f16 model on the
    /// CPU and llama.cpp runs one: the embeddings, the LM head and the projections of the runtime's own layers
    /// (attention, Mamba2, short conv, the MLP, the MoE's experts) take <paramref name="matmulDtype"/>, their values
    /// rounded; norms, convs, A, D, dt bias, the MoE's router, states and activations keep the model dtype. A user's registered
    /// layer keeps the model dtype too: it may call its modules directly, where the activations would meet half-width
    /// weights. For a model built with <see cref="Create"/> in fp32 (random weights for a benchmark, say).
    /// </summary>
    public void UseMixedPrecision(ScalarType matmulDtype) => SetMatmulWeights(w => w.to(matmulDtype));

    /// <summary>Replaces the matmul weights <see cref="UseMixedPrecision"/> names with <paramref name="make"/>(each).</summary>
    private void SetMatmulWeights(Func<Tensor, Tensor> make)
    {
        using var noGrad = torch.no_grad();
        _m.Embed.weight = MixedPrecision.Made(_m.Embed.weight!, make);
        if (_m.LmHead is { } head)
        {
            head.weight = MixedPrecision.Made(head.weight!, make);
        }

        foreach (var layer in _m.Layers)
        {
            var own = layer.Mixers.Select(m => m.Module).Where(IsBuiltIn).Append<nn.Module?>(layer.Mlp);
            foreach (var module in own.OfType<nn.Module>())
            {
                MixedPrecision.SetLinearWeights(module, make);
            }

            layer.Moe?.SetExpertWeights(make);
        }
    }

    /// <summary>
    /// Plans the page pool for this model's layers: one page size, the attention block size raised so that a page
    /// holds a mamba state (<paramref name="blockSize"/> when it is larger), the layers' cache groups.
    /// </summary>
    public HybridPageLayout PlanCache(int? blockSize = null) => HybridKvCache.PlanFor(MambaLayers, AttentionLayers, blockSize);

    /// <summary>Allocates the page pool (<paramref name="numBlocks"/> blocks on the model's device) and binds every
    /// cache layer to it; the model's steps then use its layout. Dispose it before allocating another.</summary>
    public HybridKvCache AllocateCache(int numBlocks, int? blockSize = null)
    {
        var layout = PlanCache(blockSize);
        var cache = HybridKvCache.Allocate(MambaLayers, AttentionLayers, layout, numBlocks, Device);
        _layout = layout;
        _builders = null;
        DropGraphs();
        return cache;
    }

    /// <summary>The logits at each request's last scheduled token: [num_reqs, vocab], fp32.</summary>
    /// <param name="inputIds">[num_actual_tokens] int64.</param>
    /// <param name="step">The step, with each cache group's block tables (as the engine over a <see cref="HybridKvCache"/> makes it).</param>
    public Tensor Forward(Tensor inputIds, CommonAttentionMetadata step) => Run(inputIds, step, allTokens: false);

    /// <summary>The logits at every scheduled token: [num_actual_tokens, vocab], fp32.</summary>
    public Tensor ForwardAllTokens(Tensor inputIds, CommonAttentionMetadata step) => Run(inputIds, step, allTokens: true);

    private Tensor Run(Tensor inputIds, CommonAttentionMetadata step, bool allTokens)
    {
        ArgumentNullException.ThrowIfNull(step);
        step.CheckInputIds(inputIds);

        var layout = _layout ?? throw new InvalidOperationException("The hybrid model has no cache: allocate one with AllocateCache before a step.");
        var tables = step.GroupBlockTables ?? throw new ArgumentException("A hybrid step needs each cache group's block tables (CommonAttentionMetadata.GroupBlockTables), as the engine over a HybridKvCache gives them.", nameof(step));
        if (tables.Count != layout.Groups.Count)
        {
            throw new ArgumentException($"The step has block tables for {tables.Count} cache groups but the model's cache has {layout.Groups.Count}.", nameof(step));
        }

        using var noGrad = torch.no_grad();
        if (!allTokens && step.NumPrefills == 0 && Graphs(layout) is { } graphs)
        {
            // Host ids, or (async scheduling) the last step's picks still on the device.
            using var view = inputIds.device_type == DeviceType.CPU ? graphs.TryRun(inputIds.to(ScalarType.Int64).data<long>().ToArray(), step)
                : graphs.TryRun(inputIds, step);
            if (view is not null)
            {
                // A copy: the graph's output buffer is overwritten by the next replay.
                return view.clone();
            }
        }

        using var scope = torch.NewDisposeScope();
        var device = Device;
        var builders = Builders(layout, device);
        var linear = OpsSelection.For(device).Linear;
        var perGroup = new IDisposable[layout.Groups.Count];
        try
        {
            foreach (var g in layout.Groups)
            {
                perGroup[g.Index] = g.IsAttention
                    ? ((AttentionMetadataBuilder)builders[g.Index]).Build(step, tables[g.Index])
                    : ((MambaMetadataBuilder)builders[g.Index]).Build(step.ForMambaGroup(g.Index));
            }
        }
        catch
        {
            foreach (var m in perGroup.Where(m => m is not null))
            {
                m.Dispose();
            }

            throw;
        }

        using var metadata = new HybridStepMetadata(layout, perGroup, linear);
        // Only each request's last token needs the LM head.
        return Logits(inputIds, metadata, allTokens ? null : step.LastTokenIndices).MoveToOuterDisposeScope();
    }

    /// <summary>A pure-decode step's logits on device ids with given metadata: what a decode graph captures.</summary>
    private Tensor DecodeForward(Tensor ids, HybridStepMetadata metadata) => Logits(ids, metadata, null);

    /// <summary>The logits [rows, vocab] (fp32) at <paramref name="lastTokens"/>, or at every token when null.</summary>
    private Tensor Logits(Tensor inputIds, HybridStepMetadata metadata, long[]? lastTokens)
    {
        using var scope = torch.NewDisposeScope();
        var device = Device;
        var linear = metadata.Linear;
        // A mixed-precision model's embedding rows come out half-width: the activations are the model dtype.
        var h = _m.Embed.forward(inputIds.to(ScalarType.Int64).to(device)).to(EngineConfig.Model.Dtype);
        if (Config.EmbeddingMultiplier != 1.0)
        {
            h = h * Config.EmbeddingMultiplier;
        }

        foreach (var layer in _m.Layers)
        {
            h = layer.Forward(h, metadata);
        }

        h = Ops.RmsNormMath.Forward(h, _m.FinalNorm.Weight, _m.FinalNorm.Eps);
        if (lastTokens is not null && lastTokens.Length != h.shape[0])
        {
            h = h.index_select(0, torch.tensor(lastTokens, device: device));
        }

        var weight = _m.LmHead?.weight ?? _m.Embed.weight!;
        var logits = linear.Linear(h, weight, null).to(ScalarType.Float32);
        if (Config.LogitsScaling != 1.0)
        {
            logits = logits / Config.LogitsScaling;
        }

        if (Config.LmHeadMultiplier != 1.0)
        {
            logits = logits * Config.LmHeadMultiplier;
        }

        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>One metadata builder per cache group (the group's backend), made once per device.</summary>
    private object[] Builders(HybridPageLayout layout, Device device)
    {
        string key = device.ToString();
        if (_builders is { } b && b.Device == key)
        {
            return b.Builders;
        }

        var byName = MambaLayers.ToDictionary(m => m.GetName(), StringComparer.Ordinal);
        int chunk = Config.Mamba2?.ChunkSize ?? Mamba2MetadataBuilder.DefaultChunkSize;
        var builders = layout.Groups.Select(g => g.IsAttention
            ? (object)new AttentionMetadataBuilder(device, g.Attention!.BlockSize)
            : byName[g.LayerNames[0]].GetAttnBackend().CreateMetadataBuilder(device, chunk)).ToArray();
        _builders = (key, builders);
        // Graphs of the old device or cache hold its addresses and builders.
        DropGraphs();
        return builders;
    }

    /// <summary>The parameters the config describes, in checked arithmetic (refused before any allocation when too
    /// many); a registered custom layer type's own parameters are not counted.</summary>
    public static long ParameterCount(HybridModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        checked
        {
            long h = config.HiddenSize;
            long total = config.VocabSize * h * (config.TieWordEmbeddings ? 1 : 2) + h;
            foreach (var layerType in config.LayerTypes)
            {
                total += config.MlpInEveryLayer ? 2 * h + 3 * h * config.MlpIntermediateSize : h;
                if (config.Moe is { } moe && config.MlpInEveryLayer)
                {
                    total += moe.NumExperts * (3L * h * moe.IntermediateSize + h);
                }

                foreach (var kind in HybridLayerTypes.MixersOf(layerType))
                {
                    total += kind switch
                    {
                        HybridLayerTypes.Attention when config.Attention is { } a =>
                            h * a.NumHeads * a.HeadDim * 2 + 2 * h * a.NumKvHeads * a.HeadDim + (a.QkNorm ? 2L * a.HeadDim : 0)
                            + (a.Bias ? (long)a.NumHeads * a.HeadDim + 2L * a.NumKvHeads * a.HeadDim + h : 0),
                        HybridLayerTypes.Mamba2 when config.Mamba2 is { } m =>
                            (h + (m.UseBias ? 1 : 0)) * (2L * m.IntermediateSize + 2L * m.NGroups * m.StateSize + m.NumHeads)
                            + (long)m.ConvDim * (m.ConvKernel + (m.UseConvBias ? 1 : 0))
                            + 3L * m.NumHeads + (m.RmsNorm ? m.IntermediateSize : 0) + (long)m.IntermediateSize * h + (m.UseBias ? h : 0),
                        HybridLayerTypes.Mlp => 2 * h * config.MlpIntermediateSize + (config.MlpBias ? config.MlpIntermediateSize + h : 0),
                        HybridLayerTypes.ShortConv => 4 * h * h + h * config.ShortConvKernel,
                        _ => 0,
                    };
                }
            }

            return total;
        }
    }

    /// <summary>
    /// transformers 5 saves Nemotron-H under <c>model.</c> where the Hub's checkpoints (and vLLM) use <c>backbone.</c>:
    /// the root the checkpoint's embedding is under, when it is not the family's.
    /// </summary>
    private static HybridModelConfig WithCheckpointRoot(HybridModelConfig config, SafetensorsCheckpoint weights)
    {
        const string saved = "model";
        var names = config.Names;
        return names.Root != saved && !weights.Contains(names.EmbeddingTensor) && weights.Contains((names with { Root = saved }).EmbeddingTensor)
            ? config with { Names = names with { Root = saved } }
            : config;
    }

    /// <summary>The embedding's shape in the headers against vocab_size and hidden_size, before anything is allocated.</summary>
    private static void CheckSizesAgainstHeaders(HybridModelConfig config, SafetensorsCheckpoint weights)
    {
        string embedding = config.Names.EmbeddingTensor;
        if (!weights.Contains(embedding))
        {
            throw new CheckpointException(weights.SourcePath, embedding, $"missing from the checkpoint; a {config.ModelType} model needs its input embedding");
        }

        var shape = weights.Info(embedding).Shape;
        if (shape.Length != 2 || shape[0] != config.VocabSize || shape[1] != config.HiddenSize)
        {
            throw new CheckpointException(config.SourcePath, shape.Length == 2 && shape[0] != config.VocabSize ? "vocab_size" : "hidden_size",
                $"vocab_size {config.VocabSize} x hidden_size {config.HiddenSize} does not match {embedding} [{string.Join(", ", shape)}]");
        }

        string layers = $"{config.Names.Root}.layers.";
        int layersInFile = weights.TensorNames.Select(n => n.StartsWith(layers, StringComparison.Ordinal) && int.TryParse(n[layers.Length..].Split('.')[0], out int i) ? i + 1 : 0).DefaultIfEmpty(0).Max();
        if (layersInFile != config.LayerTypes.Count)
        {
            throw new CheckpointException(config.SourcePath, "num_hidden_layers", $"{config.LayerTypes.Count} layers, but the checkpoint holds tensors of {layersInFile}");
        }
    }

    /// <summary>The decoder's module (<c>model.*</c> or <c>backbone.*</c>), its parts under the checkpoint's names.</summary>
    private sealed class Body : nn.Module
    {
        public Body(HybridCheckpointNames names, Embedding embed, ModuleList<HybridDecoderLayer> layers, RmsNorm finalNorm)
            : base(names.Root)
        {
            register_module(names.Embedding, embed);
            register_module("layers", layers);
            register_module(names.FinalNorm, finalNorm);
        }
    }
}
