using System.IO;
using MambaGen.ChatTemplates;
using MambaGen.Checkpoints;

namespace MambaGen.Models.Hybrid;

/// <summary>
/// A hybrid checkpoint folder (LFM2, Granite 4.0-H, Nemotron-H, Falcon-H1): its config.json as a <see cref="HybridModelConfig"/>,
/// the safetensors weights (headers checked on open), and when present tokenizer.json and the chat template, as
/// <see cref="HuggingFaceCheckpoint"/> gives them for Mamba checkpoints.
/// </summary>
public sealed class HybridCheckpoint
{
    private HuggingFaceBpeTokenizer? _tokenizer;
    private TokenizerChatConfig? _chatConfig;

    private HybridCheckpoint(string folder, HybridModelConfig config, SafetensorsCheckpoint weights)
    {
        Folder = folder;
        Config = config;
        Weights = weights;
    }

    public string Folder { get; }

    public HybridModelConfig Config { get; }

    public SafetensorsCheckpoint Weights { get; }

    public string TokenizerPath => Path.Combine(Folder, HuggingFaceBpeTokenizer.FileName);

    public bool HasTokenizer => File.Exists(TokenizerPath);

    /// <summary>Reads config.json and checks every weight file's header.</summary>
    public static HybridCheckpoint Open(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, null, "checkpoint folder not found");
        return new HybridCheckpoint(folder, HybridModelConfig.Load(folder), SafetensorsCheckpoint.Open(folder));
    }

    /// <summary>The folder's tokenizer, loaded once; refused when it has ids at or beyond vocab_size.</summary>
    public ITextTokenizer LoadTokenizer()
    {
        if (_tokenizer is not null) return _tokenizer;
        if (!HasTokenizer)
            throw new CheckpointException(TokenizerPath, null, "no tokenizer.json in the checkpoint folder: text cannot be encoded or decoded; pass token ids instead");
        var tokenizer = HuggingFaceBpeTokenizer.Load(TokenizerPath);
        tokenizer.RequireIdsBelow(Config.VocabSize, Config.SourcePath);
        return _tokenizer = tokenizer;
    }

    /// <summary>The folder's chat template source and BOS/EOS strings, read once.</summary>
    public TokenizerChatConfig ChatConfig => _chatConfig ??= TokenizerChatConfig.Read(Folder);

    /// <summary>Builds the model in <paramref name="dtype"/>, loads the weights and moves it to <paramref name="device"/>.</summary>
    public HybridLanguageModel LoadModel(TorchSharp.torch.Device device, TorchSharp.torch.ScalarType dtype = TorchSharp.torch.ScalarType.Float32) =>
        HybridLanguageModel.Load(Config, Weights, device, dtype);
}
