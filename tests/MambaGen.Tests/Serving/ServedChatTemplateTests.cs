using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using MambaGen.ChatTemplates;
using MambaGen.Checkpoints;
using MambaGen.Serving;
using MambaGen.Tests.Checkpoints;
using static MambaGen.Tests.Serving.ServingTestModels;
using static TorchSharp.torch;

namespace MambaGen.Tests.Serving;

/// <summary>The checkpoint's chat template in serving: loaded with the model, rendered with its bos/eos strings, encoded with one BOS.</summary>
public class ServedChatTemplateTests
{
    private const string Template =
        "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

    private static readonly ChatMessage[] Conversation = { new("system", "Be brief."), new("user", "Gets the number of") };

    /// <summary>A scratch copy of the default model with <paramref name="tokenizerConfig"/> (and chat_template.jinja when given).</summary>
    private static ScratchFolder DefaultWith(string tokenizerConfig, string? jinja = null)
    {
        var scratch = ScratchFolder.CopyOf(DefaultCheckpoint().Folder);
        File.WriteAllText(scratch.File(TokenizerChatConfig.ConfigFileName), tokenizerConfig);
        if (jinja is not null) File.WriteAllText(scratch.File(TokenizerChatConfig.TemplateFileName), jinja);
        return scratch;
    }

    private static ServedModel Load(string folder) => ServedModel.Load(HuggingFaceCheckpoint.Open(folder), CPU, ScalarType.Float32, maxConcurrentRequests: 1);

    [Fact]
    public async Task The_list_form_default_template_renders_with_the_checkpoints_bos_and_eos_and_encodes_one_bos()
    {
        string config = "{\"bos_token\": {\"content\": \"<|endoftext|>\", \"special\": true}, \"eos_token\": \"<|endoftext|>\", \"chat_template\": ["
            + "{\"name\": \"tool_use\", \"template\": \"tools only\"}, {\"name\": \"default\", \"template\": " + System.Text.Json.JsonSerializer.Serialize(Template) + "}]}";
        using var scratch = DefaultWith(config);
        await using var service = new EngineService(() => Load(scratch.Path));

        var prompt = service.RenderChat(Conversation);

        Assert.NotNull(service.ChatTemplate);
        Assert.Equal("<|endoftext|><|system|>Be brief.<|endoftext|><|user|>Gets the number of<|endoftext|><|assistant|>", prompt.Text);
        Assert.True(prompt.StartsWithBos);
        Assert.Equal(service.Tokenizer!.Encode(prompt.Text), prompt.TokenIds);
        Assert.Equal(0, prompt.TokenIds[0]); // the default model's bos id, once
        Assert.NotEqual(0, prompt.TokenIds[1]);
        Assert.Equal("<|endoftext|><|user|>Gets the number of<|endoftext|>", service.RenderChat(Conversation[1..], addGenerationPrompt: false).Text);

        // The text path adds no second BOS to a rendered chat either: both run the same tokens.
        var byIds = await Collect(service.GenerateAsync(prompt.TokenIds, new GenerationOptions { MaxTokens = 6, IgnoreEos = true }));
        var byText = await Collect(service.GenerateAsync(prompt.Text, new GenerationOptions { MaxTokens = 6, IgnoreEos = true }));
        Assert.Equal(Tokens(byIds), Tokens(byText));
    }

    [Fact]
    public void Chat_template_jinja_wins_over_the_config_and_the_configs_eos_token_stops_generation()
    {
        using var scratch = DefaultWith("{\"eos_token\": \"!\", \"chat_template\": \"from the config\"}", jinja: "{{ messages[0].content }}{{ eos_token }}");
        using var served = Load(scratch.Path);

        Assert.Equal("hi!", served.RenderChat(new[] { new ChatMessage("user", "hi") }).Text);
        Assert.False(served.RenderChat(new[] { new ChatMessage("user", "hi") }).StartsWithBos);
        Assert.Equal(new[] { 0, 1 }, served.EosTokenIds); // config.json's eos, then "!" (id 1)
    }

    [Fact]
    public void A_checkpoint_without_a_template_loads_and_refuses_chats_saying_why()
    {
        using var served = ServedModel.Load(DefaultCheckpoint(), CPU, ScalarType.Float32, maxConcurrentRequests: 1);

        Assert.Null(served.ChatTemplate);
        Assert.Null(served.ChatTemplateError);
        Assert.Contains("no chat template", Assert.Throws<InvalidOperationException>(() => served.RenderChat(Conversation)).Message, StringComparison.Ordinal);
        Assert.Equal(new[] { 0 }, served.EosTokenIds);
    }

    [Fact]
    public void A_template_with_an_unsupported_construct_loads_the_model_and_fails_each_chat_naming_the_folder_and_construct()
    {
        using var scratch = DefaultWith("{\"chat_template\": \"{% include 'other.jinja' %}\"}");
        using var served = Load(scratch.Path);

        Assert.Null(served.ChatTemplate);
        var error = Assert.Throws<ChatTemplateException>(() => served.RenderChat(Conversation));
        Assert.Contains(scratch.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains("'include'", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.Line);
        Assert.Equal(error.Message, served.ChatTemplateError!.Message);
    }
}
