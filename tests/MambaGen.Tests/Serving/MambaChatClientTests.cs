using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models;
using MambaGen.Serving;
using MambaGen.Tests.Checkpoints;
using MambaGen.Tests.Generation;
using Microsoft.Extensions.AI;
using static MambaGen.Tests.Serving.ServingTestModels;
using static TorchSharp.torch;
using Template = MambaGen.ChatTemplates.ChatTemplate;

namespace MambaGen.Tests.Serving;

/// <summary>The IChatClient over the engine service: replies, options, refusals, usage, finish reasons and cancellation.</summary>
public class MambaChatClientTests
{
    private const string ModelId = "tiny";

    /// <summary>A template whose text is the contents run together: with the one-character tokenizer, prompt ids are checkable by hand.</summary>
    private static EngineService Service(MambaLanguageModel model, int numBlocks = 1, IReadOnlyList<int>? eos = null) =>
        new(ServedModel.Create(model, numBlocks, new CharTokenizer(), bosTokenId: null, eosTokenIds: eos, ownsModel: false,
            Template.Parse("{% for m in messages %}{{ m.content }}{% endfor %}")));

    private static int[] Ids(string text) => new CharTokenizer().Encode(text);

    private static async Task<List<ChatResponseUpdate>> Collect(IAsyncEnumerable<ChatResponseUpdate> updates)
    {
        var list = new List<ChatResponseUpdate>();
        await foreach (var update in updates)
        {
            list.Add(update);
        }

        return list;
    }

    [Fact]
    public async Task Replies_streamed_or_not_are_the_engines_greedy_tokens_with_usage_and_the_length_finish_reason()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        var expected = TinyLanguageModel.Alone(model, Ids("DBCE"), SamplingParams.Greedy(12));
        using var service = Service(model);
        using var client = new MambaChatClient(service, ModelId);
        var options = new ChatOptions { MaxOutputTokens = 12 };

        var response = await client.GetResponseAsync(new[] { new ChatMessage(ChatRole.User, "DBCE") }, options);
        var updates = await Collect(client.GetStreamingResponseAsync(new[] { new ChatMessage(ChatRole.User, "DBCE") }, options));

        Assert.Equal(new CharTokenizer().Decode(expected), response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(ModelId, response.ModelId);
        Assert.Equal(ChatRole.Assistant, Assert.Single(response.Messages).Role);
        Assert.Equal((4L, 12L, 16L), (response.Usage!.InputTokenCount!.Value, response.Usage.OutputTokenCount!.Value, response.Usage.TotalTokenCount!.Value));
        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.All(updates.SkipLast(1), u => Assert.Null(u.FinishReason));
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        Assert.Equal(16, Assert.Single(updates[^1].Contents.OfType<UsageContent>()).Details.TotalTokenCount);
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.Equal(1, service.Stats.FreeBlocks);
    }

    [Fact]
    public async Task Chat_options_set_sampling_stops_and_instructions_as_the_same_generation_options_would()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        var greedy = TinyLanguageModel.Alone(model, Ids("ABDBCE"), SamplingParams.Greedy(20));
        int eosAt = 6;
        while (greedy[..eosAt].Contains(greedy[eosAt]))
        {
            eosAt++;
        }

        using var service = Service(model, numBlocks: 2, eos: new[] { greedy[eosAt] });
        using var client = new MambaChatClient(service, ModelId);
        var user = new[] { new ChatMessage(ChatRole.User, "DBCE") };

        // Sampling: the same seed, temperature, top-p and top-k as GenerationOptions give the same tokens.
        var sampled = await client.GetResponseAsync(user, new ChatOptions { Temperature = 0.9f, TopP = 0.95f, TopK = 7, Seed = -3, MaxOutputTokens = 10 });
        var direct = await ServingTestModels.Collect(service.GenerateAsync(Ids("DBCE"),
            new GenerationOptions { Temperature = 0.9f, TopP = 0.95f, TopK = 7, Seed = unchecked((ulong)-3L), MaxTokens = 10 }));
        Assert.Equal(Text(direct), sampled.Text);

        // Instructions come first as a system message; the model's eos (here greedy[eosAt]) ends with "stop", not shown.
        var withEos = await client.GetResponseAsync(user, new ChatOptions { Instructions = "AB", MaxOutputTokens = 20 });
        Assert.Equal(new CharTokenizer().Decode(greedy[..eosAt]), withEos.Text);
        Assert.Equal(ChatFinishReason.Stop, withEos.FinishReason);
        Assert.Equal((6L, eosAt + 1L), (withEos.Usage!.InputTokenCount!.Value, withEos.Usage.OutputTokenCount!.Value));

        // A stop sequence (before the eos) ends the reply before it.
        string stop = new CharTokenizer().Decode(greedy[3..5]);
        var stopped = await client.GetResponseAsync(user, new ChatOptions { Instructions = "AB", StopSequences = new[] { stop }, MaxOutputTokens = 20 });
        string full = new CharTokenizer().Decode(greedy);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    public static TheoryData<string, ChatOptions?, ChatMessage> Refused => new()
    {
        { "ChatOptions.Tools", new ChatOptions { Tools = new List<AITool> { new HostedWebSearchTool() } }, new ChatMessage(ChatRole.User, "B") },
        { "ChatOptions.ToolMode", new ChatOptions { ToolMode = ChatToolMode.RequireAny }, new ChatMessage(ChatRole.User, "B") },
        { "ChatOptions.ResponseFormat", new ChatOptions { ResponseFormat = ChatResponseFormat.Json }, new ChatMessage(ChatRole.User, "B") },
        { "ChatOptions.FrequencyPenalty", new ChatOptions { FrequencyPenalty = 0.5f }, new ChatMessage(ChatRole.User, "B") },
        { "ChatOptions.PresencePenalty", new ChatOptions { PresencePenalty = 0.5f }, new ChatMessage(ChatRole.User, "B") },
        { "ChatOptions.Reasoning", new ChatOptions { Reasoning = new ReasoningOptions() }, new ChatMessage(ChatRole.User, "B") },
        { "ChatOptions.ConversationId", new ChatOptions { ConversationId = "c1" }, new ChatMessage(ChatRole.User, "B") },
        { "ChatOptions.ModelId", new ChatOptions { ModelId = "gpt-4o" }, new ChatMessage(ChatRole.User, "B") },
        { "AdditionalProperties[\"logit_bias\"]", new ChatOptions { AdditionalProperties = new() { ["logit_bias"] = 1 } }, new ChatMessage(ChatRole.User, "B") },
        { "DataContent", null, new ChatMessage(ChatRole.User, new List<AIContent> { new DataContent(new byte[] { 1 }, "image/png") }) },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Options_and_content_the_engine_cannot_honour_are_refused_naming_them(string named, ChatOptions? options, ChatMessage message)
    {
        using var model = TinyLanguageModel.Create("mamba2");
        using var service = Service(model);
        using var client = new MambaChatClient(service, ModelId);

        var streaming = Assert.Throws<NotSupportedException>(() => client.GetStreamingResponseAsync(new[] { message }, options));
        var whole = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(new[] { message }, options));

        Assert.Contains(named, streaming.Message, StringComparison.Ordinal);
        Assert.Equal(streaming.Message, whole.Message);
        Assert.Equal(0, service.HeldRequests);
    }

    [Fact]
    public async Task Cancelling_a_reply_frees_its_state_block_by_the_time_the_call_throws()
    {
        using var model = TinyLanguageModel.Create("mamba1");
        using var service = Service(model);
        using var client = new MambaChatClient(service, ModelId);
        var endless = new ChatOptions { MaxOutputTokens = 1_000_000 };
        var user = new[] { new ChatMessage(ChatRole.User, "DBCE") };

        using (var cts = new CancellationTokenSource())
        {
            var updates = client.GetStreamingResponseAsync(user, endless, cts.Token).GetAsyncEnumerator(CancellationToken.None);
            Assert.True(await updates.MoveNextAsync());
            Assert.True(await updates.MoveNextAsync());
            Assert.Equal(0, service.Stats.FreeBlocks);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await updates.MoveNextAsync());
            Assert.Equal(1, service.Stats.FreeBlocks);
            Assert.Equal(0, service.HeldRequests);
            await updates.DisposeAsync();
        }

        using (var cts = new CancellationTokenSource())
        {
            var reply = client.GetResponseAsync(user, endless, cts.Token);
            while (service.Stats.Running == 0 && !reply.IsCompleted)
            {
                await Task.Delay(1);
            }

            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reply);
            Assert.Equal(1, service.Stats.FreeBlocks);
            Assert.Equal(0, service.HeldRequests);
        }
    }

    [Fact]
    public async Task On_the_default_model_the_reply_is_the_engines_text_for_the_checkpoints_rendered_template()
    {
        using var scratch = ScratchFolder.CopyOf(DefaultCheckpoint().Folder);
        File.WriteAllText(scratch.File("tokenizer_config.json"),
            "{\"bos_token\": \"<|endoftext|>\", \"chat_template\": \"{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\\n{% endfor %}assistant:\"}");
        using var service = new EngineService(() => ServedModel.Load(HuggingFaceCheckpoint.Open(scratch.Path), CPU, ScalarType.Float32, 1));
        using var client = new MambaChatClient(service, "default");
        var messages = new[] { new ChatMessage(ChatRole.User, "Gets the number of") };

        var response = await client.GetResponseAsync(messages, new ChatOptions { MaxOutputTokens = 16 });
        var prompt = service.RenderChat(new[] { new MambaGen.ChatTemplates.ChatMessage("user", "Gets the number of") });
        var direct = await ServingTestModels.Collect(service.GenerateAsync(prompt.TokenIds, new GenerationOptions { MaxTokens = 16 }));

        Assert.Equal("<|endoftext|>user: Gets the number of\nassistant:", prompt.Text);
        Assert.Equal(Text(direct), response.Text);
        Assert.Equal(prompt.TokenIds.Count, response.Usage!.InputTokenCount);
        Assert.Equal(Tokens(direct).Length, response.Usage.OutputTokenCount);
        Assert.Equal("default", ((ChatClientMetadata)client.GetService(typeof(ChatClientMetadata))!).DefaultModelId);
        Assert.Same(service, client.GetService(typeof(EngineService)));
    }
}
