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
    private OpenedCheckpoint(string folder, HuggingFaceCheckpoint? mamba, HybridCheckpoint? hybrid)
    {
        Folder = folder;
        Mamba = mamba;
        Hybrid = hybrid;
    }

    public string Folder { get; }

    /// <summary>A Mamba or Mamba2 checkpoint; null for a hybrid one.</summary>
    public HuggingFaceCheckpoint? Mamba { get; }

    /// <summary>A hybrid checkpoint; null for a Mamba one.</summary>
    public HybridCheckpoint? Hybrid { get; }

    public string ModelType => Mamba?.Config.ModelType ?? Hybrid!.Config.ModelType;

    public int VocabSize => Mamba?.Config.VocabSize ?? Hybrid!.Config.VocabSize;

    public int NumLayers => Mamba?.Config.NumHiddenLayers ?? Hybrid!.Config.LayerTypes.Count;

    public int? BosTokenId => Mamba is not null ? Mamba.Config.BosTokenId : Hybrid!.Config.BosTokenId;

    public int? PadTokenId => Mamba is not null ? Mamba.Config.PadTokenId : Hybrid!.Config.PadTokenId;

    public IReadOnlyList<int> EosTokenIds => Mamba?.Config.EosTokenIds ?? Hybrid!.Config.EosTokenIds;

    /// <summary>The most positions a request may hold (a hybrid's max_position_embeddings); null when unbounded.</summary>
    public int? MaxPositions => Hybrid?.Config.MaxPositionEmbeddings;

    public bool HasTokenizer => Mamba?.HasTokenizer ?? Hybrid!.HasTokenizer;

    /// <summary>The folder's tokenizer, refused when it has ids at or beyond vocab_size.</summary>
    public ITextTokenizer LoadTokenizer() => Mamba?.LoadTokenizer() ?? Hybrid!.LoadTokenizer();

    /// <summary>Reads config.json and checks every weight file's header.</summary>
    public static OpenedCheckpoint Open(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, null, "checkpoint folder not found");
        return HybridModelConfig.IsHybrid(folder)
            ? new OpenedCheckpoint(folder, null, HybridCheckpoint.Open(folder))
            : new OpenedCheckpoint(folder, HuggingFaceCheckpoint.Open(folder), null);
    }
}
