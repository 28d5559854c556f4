using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using MambaGen.ChatTemplates;
using MambaGen.Testing;

namespace MambaGen.Tests.ChatTemplates;

/// <summary>
/// Real chat templates (Templates/, sources in Templates/SOURCES.md) rendering the cases of Templates/cases.json: a
/// standard conversation through each, plus tools, tool calls and responses, thinking, default system prompts and a
/// raise_exception. The expected strings were derived by hand from reading each template; bench/gpu/chat_templates.py
/// renders the same file's cases with transformers on the GPU machine to confirm them (docs/chat-templates.md).
/// </summary>
public class RealTemplateTests
{
    private static string Folder => RepoPaths.Combine("tests", "MambaGen.Tests", "ChatTemplates", "Templates");

    private static readonly Lazy<JsonElement> Cases = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "cases.json"))).RootElement.Clone());

    public static TheoryData<string> CaseNames()
    {
        var names = new TheoryData<string>();
        foreach (var c in Cases.Value.GetProperty("cases").EnumerateArray()) names.Add(c.GetProperty("name").GetString()!);
        return names;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Real_template_renders_its_recorded_case_byte_for_byte(string name)
    {
        var c = Cases.Value.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var now = DateTime.ParseExact(Cases.Value.GetProperty("now").GetString()!, "s", CultureInfo.InvariantCulture);
        var template = ChatTemplate.Parse(File.ReadAllText(Path.Combine(Folder, c.GetProperty("template").GetString()!)), new ChatTemplateOptions
        {
            BosToken = c.TryGetProperty("bos_token", out var bos) ? bos.GetString() : null,
            EosToken = c.TryGetProperty("eos_token", out var eos) ? eos.GetString() : null,
            Clock = () => now,
        });
        var messages = c.GetProperty("messages").EnumerateArray().Select(Message).ToArray();
        var variables = c.TryGetProperty("variables", out var v) ? v.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value) : null;
        bool addGenerationPrompt = c.GetProperty("add_generation_prompt").GetBoolean();

        if (c.TryGetProperty("raises", out var raises))
        {
            var ex = Assert.Throws<ChatTemplateRaisedException>(() => template.Render(messages, addGenerationPrompt, variables));
            Assert.Equal(raises.GetString(), ex.Reason);
        }
        else
        {
            Assert.Equal(c.GetProperty("expected").GetString(), template.Render(messages, addGenerationPrompt, variables));
        }
    }

    [Fact]
    public void Every_real_template_has_a_case_and_a_source()
    {
        var used = Cases.Value.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("template").GetString()).ToHashSet();
        var sources = File.ReadAllText(Path.Combine(Folder, "SOURCES.md"));
        foreach (var file in Directory.GetFiles(Folder, "*.jinja").Select(Path.GetFileName))
        {
            Assert.Contains(file, used);
            Assert.Contains(file!, sources, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void One_parsed_template_renders_from_many_threads_at_once_as_it_does_alone()
    {
        // Serving shares one parsed template between request threads.
        var template = ChatTemplate.Parse(File.ReadAllText(Path.Combine(Folder, "qwen2.5-instruct.jinja")));
        var conversations = Enumerable.Range(0, 64).Select(i => new[] { new ChatMessage("user", $"question {i}"), new ChatMessage("assistant", new string('x', i)) }).ToArray();
        var alone = conversations.Select(c => template.Render(c, true)).ToArray();

        var together = new string[conversations.Length];
        System.Threading.Tasks.Parallel.For(0, conversations.Length, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 8 },
            i => together[i] = template.Render(conversations[i], true));

        Assert.Equal(alone, together);
    }

    /// <summary>A JSON message as the template sees it: role, content (null kept), tool_calls, any other key as is.</summary>
    private static ChatMessage Message(JsonElement m)
    {
        var toolCalls = m.TryGetProperty("tool_calls", out var calls)
            ? calls.EnumerateArray().Select(call => (IReadOnlyDictionary<string, object?>)call.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value)).ToList()
            : null;
        var extra = m.EnumerateObject().Where(p => p.Name is not ("role" or "content" or "tool_calls")).ToDictionary(p => p.Name, p => (object?)p.Value);
        return new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString(), toolCalls, extra.Count > 0 ? extra : null);
    }
}
