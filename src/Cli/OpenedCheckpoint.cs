using System.Collections.Generic;
using System.IO;
using MambaGen.Checkpoints;
using MambaGen.Models.Hybrid;

namespace MambaGen.Cli;

/// <summary>
/// A checkpoint folder opened by its config.json's model_type: a Mamba/Mamba2 checkpoint (<see cref="Mamba"/>) or a
/// hybrid one (<see cref="Hybrid"/>, LFM2 or Granite 4.0-H), with the facts every command reads from either.
/// </summary>
internal sealed class OpenedCheckpoint
{
    private ITextTokenizer? _tokenizer;

    private OpenedCheckpoint(string folder, HuggingFaceCheckpoint? mamba, HybridModelConfig? hybrid, SafetensorsCheckpoint weights)
    {
        Folder = folder;
        Mamba = mamba;
        Hybrid = hybrid;
        Weights = weights;
    }

    public string Folder { get; }

    /// <summary>A Mamba or Mamba2 checkpoint; null for a hybrid one.</summary>
    public HuggingFaceCheckpoint? Mamba { get; }

    /// <summary>A hybrid checkpoint's description; null for a Mamba one.</summary>
    public HybridModelConfig? Hybrid { get; }

    public SafetensorsCheckpoint Weights { get; }

    public string ModelType => Mamba?.Config.ModelType ?? Hybrid!.ModelType;

    public int VocabSize => Mamba?.Config.VocabSize ?? Hybrid!.VocabSize;

    public int NumLayers => Mamba?.Config.NumHiddenLayers ?? Hybrid!.LayerTypes.Count;

    public int? BosTokenId => Mamba is not null ? Mamba.Config.BosTokenId : Hybrid!.BosTokenId;

    public int? PadTokenId => Mamba is not null ? Mamba.Config.PadTokenId : Hybrid!.PadTokenId;

    public IReadOnlyList<int> EosTokenIds => Mamba?.Config.EosTokenIds ?? Hybrid!.EosTokenIds;

    /// <summary>The most positions a request may hold (a hybrid's max_position_embeddings); null when unbounded.</summary>
    public int? MaxPositions => Hybrid?.MaxPositionEmbeddings;

    public string TokenizerPath => Path.Combine(Folder, HuggingFaceBpeTokenizer.FileName);

    public bool HasTokenizer => File.Exists(TokenizerPath);

    /// <summary>The folder's tokenizer, refused when it has ids at or beyond vocab_size (as <see cref="HuggingFaceCheckpoint.LoadTokenizer"/>).</summary>
    public ITextTokenizer LoadTokenizer()
    {
        if (Mamba is not null) return Mamba.LoadTokenizer();
        if (_tokenizer is not null) return _tokenizer;
        if (!HasTokenizer)
            throw new CheckpointException(TokenizerPath, null, "no tokenizer.json in the checkpoint folder: text cannot be encoded or decoded; pass token ids instead");
        var tokenizer = HuggingFaceBpeTokenizer.Load(TokenizerPath);
        tokenizer.RequireIdsBelow(VocabSize, Hybrid!.SourcePath);
        return _tokenizer = tokenizer;
    }

    /// <summary>Reads config.json and checks every weight file's header.</summary>
    public static OpenedCheckpoint Open(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, null, "checkpoint folder not found");
        if (HybridModelConfig.IsHybrid(folder))
            return new OpenedCheckpoint(folder, null, HybridModelConfig.Load(folder), SafetensorsCheckpoint.Open(folder));
        var mamba = HuggingFaceCheckpoint.Open(folder);
        return new OpenedCheckpoint(folder, mamba, null, mamba.Weights);
    }
}
