using System.IO;

namespace MambaGen.Checkpoints;

/// <summary>
/// A HuggingFace Mamba or Mamba2 checkpoint folder: config.json, the safetensors weights (checked on open) and,
/// when present, tokenizer.json (loaded on first use).
/// </summary>
public sealed class HuggingFaceCheckpoint
{
    private HuggingFaceBpeTokenizer? _tokenizer;
    private MambaGen.ChatTemplates.TokenizerChatConfig? _chatConfig;

    private HuggingFaceCheckpoint(string folder, MambaCheckpointConfig config, SafetensorsCheckpoint weights)
    {
        Folder = folder;
        Config = config;
        Weights = weights;
    }

    public string Folder { get; }

    public MambaCheckpointConfig Config { get; }

    public SafetensorsCheckpoint Weights { get; }

    public string TokenizerPath => Path.Combine(Folder, HuggingFaceBpeTokenizer.FileName);

    public bool HasTokenizer => File.Exists(TokenizerPath);

    /// <summary>Reads config.json and checks every weight file's header.</summary>
    public static HuggingFaceCheckpoint Open(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, null, "checkpoint folder not found");
        var config = MambaCheckpointConfig.Load(folder);
        return new HuggingFaceCheckpoint(folder, config, SafetensorsCheckpoint.Open(folder));
    }

    /// <summary>
    /// The checkpoint's tokenizer, loaded once; a checkpoint without tokenizer.json takes token ids only. A tokenizer
    /// with ids at or beyond config.json's vocab_size is refused, naming the tokens, since the model has no embedding
    /// for them. Ids below vocab_size that the tokenizer lacks (a padded vocabulary) decode as U+FFFD.
    /// </summary>
    public ITextTokenizer LoadTokenizer()
    {
        if (_tokenizer is not null) return _tokenizer;
        if (!HasTokenizer)
            throw new CheckpointException(TokenizerPath, null,
                "no tokenizer.json in the checkpoint folder: text cannot be encoded or decoded; pass token ids instead");
        var tokenizer = HuggingFaceBpeTokenizer.Load(TokenizerPath);
        tokenizer.RequireIdsBelow(Config.VocabSize, Config.SourcePath);
        return _tokenizer = tokenizer;
    }

    /// <summary>
    /// The folder's chat template source and BOS/EOS token strings (chat_template.jinja, else tokenizer_config.json's
    /// chat_template; each null when absent), read once.
    /// </summary>
    public MambaGen.ChatTemplates.TokenizerChatConfig ChatConfig => _chatConfig ??= MambaGen.ChatTemplates.TokenizerChatConfig.Read(Folder);

    /// <summary>The checkpoint's chat template source, or null when it has none.</summary>
    public string? ChatTemplateSource => ChatConfig.Template;

    /// <summary>The checkpoint's chat template parsed with its BOS/EOS strings, or null when it has none.</summary>
    public MambaGen.ChatTemplates.ChatTemplate? LoadChatTemplate() => ChatConfig.Load();

    /// <summary>Checks config.json against the safetensors headers without allocating the model (see <see cref="CheckpointLayout.Check"/>).</summary>
    public void CheckLayout(TorchSharp.torch.ScalarType dtype = TorchSharp.torch.ScalarType.Float32) => CheckpointLayout.Check(Config, Weights, dtype);

    /// <summary>Fills <paramref name="model"/> from <see cref="Weights"/>, tying lm_head as config.json says.</summary>
    public CheckpointLoadReport LoadInto(TorchSharp.torch.nn.Module model) =>
        CheckpointLoader.LoadInto(model, Weights, Config.TieWordEmbeddings);
}
