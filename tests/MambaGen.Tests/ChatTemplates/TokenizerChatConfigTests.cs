using System;
using System.IO;
using MambaGen.ChatTemplates;

namespace MambaGen.Tests.ChatTemplates;

public sealed class TokenizerChatConfigTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mg-chat-" + Guid.NewGuid().ToString("N"));

    public TokenizerChatConfigTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void A_string_chat_template_and_token_strings_are_read()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"),
            "{\"bos_token\": \"<s>\", \"eos_token\": {\"content\": \"</s>\", \"lstrip\": false}, \"chat_template\": \"{{ bos_token }}{{ messages[0].content }}{{ eos_token }}\"}");
        var config = TokenizerChatConfig.Read(_dir);
        Assert.Equal("<s>", config.BosToken);
        Assert.Equal("</s>", config.EosToken);
        Assert.Equal("<s>hi</s>", config.Load()!.Render(new[] { new ChatMessage("user", "hi") }, false));
    }

    [Fact]
    public void The_other_special_tokens_reach_the_template_as_transformers_passes_them_and_unset_ones_stay_undefined()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"),
            "{\"pad_token\": {\"content\": \"<pad>\"}, \"unk_token\": \"<unk>\", \"chat_template\": \"{{ pad_token }}|{{ unk_token }}|{{ mask_token is defined }}\"}");
        var config = TokenizerChatConfig.Read(_dir);
        Assert.Equal("<pad>", config.OtherSpecialTokens["pad_token"]);
        Assert.Equal("<pad>|<unk>|False", config.Load()!.Render(Array.Empty<ChatMessage>(), false));
        Assert.Equal("P|<unk>|False", config.Load()!.Render(Array.Empty<ChatMessage>(), false, new System.Collections.Generic.Dictionary<string, object?> { ["pad_token"] = "P" }));
    }

    [Fact]
    public void The_default_of_named_templates_is_picked()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"),
            "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"D\"}]}");
        Assert.Equal("D", TokenizerChatConfig.Read(_dir).Template);
    }

    [Fact]
    public void Chat_template_jinja_wins_over_the_config()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), "{\"chat_template\": \"config\", \"bos_token\": null}");
        File.WriteAllText(Path.Combine(_dir, "chat_template.jinja"), "file");
        var config = TokenizerChatConfig.Read(_dir);
        Assert.Equal("file", config.Template);
        Assert.Null(config.BosToken);
    }

    [Fact]
    public void A_folder_without_either_file_has_no_template()
    {
        var config = TokenizerChatConfig.Read(_dir);
        Assert.Null(config.Template);
        Assert.Null(config.EosToken);
        Assert.Null(config.Load());
    }

    [Fact]
    public void Malformed_json_names_the_file()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), "{not json");
        Assert.Contains("tokenizer_config.json", Assert.Throws<ChatTemplateException>(() => TokenizerChatConfig.Read(_dir)).Message);
    }
}
