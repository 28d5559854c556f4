using System;
using System.ClientModel;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using MambaGen.ChatTemplates;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;

namespace MambaGen.Server.Tests;

/// <summary>The server driven by the official OpenAI .NET SDK and Microsoft.Extensions.AI's OpenAI IChatClient
/// (OpenAI 2.15 keeps its legacy completions client internal, so /v1/completions is driven over plain HTTP).</summary>
public sealed class OpenAiClientTests : IClassFixture<ChatServerFixture>
{
    private readonly LiveServer _server;

    public OpenAiClientTests(ChatServerFixture fixture)
    {
        _server = fixture.Server;
    }

    private static string Rendered(params (string Role, string Content)[] messages) =>
        ChatTemplate.Parse(TestModels.Template, new ChatTemplateOptions { BosToken = TestModels.BosToken, EosToken = TestModels.BosToken })
            .Render(messages.Select(m => new MambaGen.ChatTemplates.ChatMessage(m.Role, m.Content)).ToList(), addGenerationPrompt: true);

    /// <summary>Greedy text of a raw prompt on /v1/completions, taken as given (no bos added).</summary>
    private async Task<(string Text, int PromptTokens, int CompletionTokens)> CompleteRawAsync(string prompt, int maxTokens)
    {
        var response = await _server.PostAsync("v1/completions", JsonSerializer.Serialize(new { prompt, max_tokens = maxTokens, temperature = 0, add_special_tokens = false }));
        Assert.Equal(200, (int)response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var usage = json.RootElement.GetProperty("usage");
        return (json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!, usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Sdk_chat_is_the_greedy_completion_of_the_checkpoints_rendered_template()
    {
        var chat = _server.OpenAi().GetChatClient(_server.ModelName);
        var result = await chat.CompleteChatAsync(
            new OpenAI.Chat.ChatMessage[] { new SystemChatMessage("You document .NET."), new UserChatMessage("What does Count return?") },
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 24 });

        var expected = await CompleteRawAsync(Rendered(("system", "You document .NET."), ("user", "What does Count return?")), 24);
        Assert.Equal(expected.Text, result.Value.Content[0].Text);
        Assert.Equal(expected.PromptTokens, result.Value.Usage.InputTokenCount);
        Assert.Equal(expected.CompletionTokens, result.Value.Usage.OutputTokenCount);
        Assert.Equal(ChatMessageRole.Assistant, result.Value.Role);
        Assert.Contains(result.Value.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
    }

    [Fact]
    public async Task Sdk_streamed_chat_joins_to_the_whole_answer_and_ends_with_usage()
    {
        var chat = _server.OpenAi().GetChatClient(_server.ModelName);
        var messages = new OpenAI.Chat.ChatMessage[] { new UserChatMessage("Gets the number of") };
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 20 };
        var whole = (await chat.CompleteChatAsync(messages, options)).Value;

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        int updates = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, options))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.True(updates > 3, $"only {updates} updates: not streamed token by token");
        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(whole.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.InputTokenCount, usage!.InputTokenCount);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
    }

    [Fact]
    public async Task Extensions_AI_chat_client_answers_whole_and_streamed_alike()
    {
        IChatClient client = _server.OpenAi().GetChatClient(_server.ModelName).AsIChatClient();
        var messages = new List<AiChatMessage> { new(AiChatRole.User, "Returns a value that indicates") };
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 16, StopSequences = new[] { "\n\n" } };

        var response = await client.GetResponseAsync(messages, options);
        var streamed = new StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync(messages, options)) streamed.Append(update.Text);

        var expected = await CompleteRawAsync(Rendered(("user", "Returns a value that indicates")), 16);
        string cut = expected.Text.Split("\n\n")[0];
        Assert.Equal(cut, response.Text);
        Assert.Equal(cut, streamed.ToString());
        Assert.Equal(expected.PromptTokens, response.Usage?.InputTokenCount);
    }

    [Fact]
    public async Task Sdk_lists_the_served_model()
    {
        var models = await _server.OpenAi().GetOpenAIModelClient().GetModelsAsync();
        Assert.Equal(new[] { _server.ModelName }, models.Value.Select(m => m.Id).ToArray());
    }

    [Fact]
    public async Task Sdk_sees_a_bad_field_as_400_naming_it_and_an_unknown_model_as_404()
    {
        var chat = _server.OpenAi().GetChatClient(_server.ModelName);
        var bad = await Assert.ThrowsAsync<ClientResultException>(() =>
            chat.CompleteChatAsync(new OpenAI.Chat.ChatMessage[] { new UserChatMessage("x") }, new ChatCompletionOptions { TopP = 1.5f }));
        Assert.Equal(400, bad.Status);
        Assert.Contains("top_p", bad.Message, StringComparison.Ordinal);

        var penalty = await Assert.ThrowsAsync<ClientResultException>(() =>
            chat.CompleteChatAsync(new OpenAI.Chat.ChatMessage[] { new UserChatMessage("x") }, new ChatCompletionOptions { FrequencyPenalty = 0.5f }));
        Assert.Equal(400, penalty.Status);
        Assert.Contains("frequency_penalty", penalty.Message, StringComparison.Ordinal);

        var unknown = await Assert.ThrowsAsync<ClientResultException>(() =>
            _server.OpenAi().GetChatClient("gpt-4o").CompleteChatAsync(new OpenAI.Chat.ChatMessage[] { new UserChatMessage("x") }));
        Assert.Equal(404, unknown.Status);
        Assert.Contains("gpt-4o", unknown.Message, StringComparison.Ordinal);
    }
}
