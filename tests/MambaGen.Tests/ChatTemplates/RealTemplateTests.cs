using System.Collections.Generic;
using System.IO;
using MambaGen.ChatTemplates;
using MambaGen.Testing;

namespace MambaGen.Tests.ChatTemplates;

/// <summary>
/// Real chat templates (Templates/, sources in Templates/SOURCES.md) rendering a standard conversation. The expected
/// strings are derived by hand from reading each template; they are still to be confirmed against transformers'
/// apply_chat_template on the GPU machine (docs/chat-templates.md).
/// </summary>
public class RealTemplateTests
{
    private static readonly ChatMessage[] Standard =
    {
        new("system", "You are a helpful assistant."),
        new("user", "Hello!"),
        new("assistant", "Hi there."),
        new("user", "What is 2+2?"),
    };

    private static ChatTemplate Load(string file, string? bos = null, string? eos = null) =>
        ChatTemplate.Parse(File.ReadAllText(RepoPaths.Combine("tests", "MambaGen.Tests", "ChatTemplates", "Templates", file)),
            new ChatTemplateOptions { BosToken = bos, EosToken = eos, Clock = () => T.FixedNow });

    private static Dictionary<string, object?> WeatherTool() => new()
    {
        ["type"] = "function",
        ["function"] = new Dictionary<string, object?>
        {
            ["name"] = "get_weather",
            ["description"] = "Get the weather",
            ["parameters"] = new Dictionary<string, object?>
            {
                ["type"] = "object",
                ["properties"] = new Dictionary<string, object?> { ["city"] = new Dictionary<string, object?> { ["type"] = "string" } },
                ["required"] = new List<object?> { "city" },
            },
        },
    };

    private const string WeatherToolJson =
        "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}";

    [Fact]
    public void Lfm2_renders_the_standard_conversation() =>
        Assert.Equal(
            "<|startoftext|><|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n" +
            "<|im_start|>assistant\nHi there.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            Load("lfm2.jinja", "<|startoftext|>", "<|im_end|>").Render(Standard, true));

    [Fact]
    public void Lfm2_lists_tools_in_the_system_prompt() =>
        Assert.Equal(
            "<|startoftext|><|im_start|>system\nYou are a helpful assistant.\nList of tools: <|tool_list_start|>[" + WeatherToolJson + "]<|tool_list_end|><|im_end|>\n" +
            "<|im_start|>user\nHello!<|im_end|>\n",
            Load("lfm2.jinja", "<|startoftext|>", "<|im_end|>").Render(Standard[..2], false, T.Vars(("tools", new List<object?> { WeatherTool() }))));

    [Fact]
    public void Llama_3_2_renders_the_standard_conversation_with_todays_date() =>
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 04 Dec 2026\n\n" +
            "You are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nHi there.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            Load("llama-3.2-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>").Render(Standard, true));

    [Fact]
    public void Llama_3_2_puts_tools_as_indented_json_in_the_first_user_message() =>
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 04 Dec 2026\n\n" +
            "You are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n" +
            "Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n" +
            "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n" +
            "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n        \"description\": \"Get the weather\",\n" +
            "        \"parameters\": {\n            \"type\": \"object\",\n            \"properties\": {\n                \"city\": {\n                    \"type\": \"string\"\n" +
            "                }\n            },\n            \"required\": [\n                \"city\"\n            ]\n        }\n    }\n}\n\n" +
            "Hello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            Load("llama-3.2-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>").Render(Standard[..2], true, T.Vars(("tools", new List<object?> { WeatherTool() }))));

    [Fact]
    public void Qwen_2_5_renders_the_standard_conversation() =>
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n" +
            "<|im_start|>assistant\nHi there.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            Load("qwen2.5-instruct.jinja", null, "<|im_end|>").Render(Standard, true));

    [Fact]
    public void Qwen_2_5_uses_its_default_system_prompt_without_one() =>
        Assert.Equal(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n",
            Load("qwen2.5-instruct.jinja").Render(new[] { new ChatMessage("user", "Hello!") }, false));

    [Fact]
    public void Qwen_2_5_renders_tools_tool_calls_and_tool_responses()
    {
        var call = new Dictionary<string, object?>
        {
            ["type"] = "function",
            ["function"] = new Dictionary<string, object?> { ["name"] = "get_weather", ["arguments"] = new Dictionary<string, object?> { ["city"] = "Paris" } },
        };
        var messages = new[]
        {
            new ChatMessage("system", "You are a helpful assistant."),
            new ChatMessage("user", "Weather in Paris?"),
            new ChatMessage("assistant", null, new[] { call }),
            new ChatMessage("tool", "18C"),
        };
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" + WeatherToolJson + "\n</tools>\n\n" +
            "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n" +
            "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\nWeather in Paris?<|im_end|>\n" +
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\n<tool_response>\n18C\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
            Load("qwen2.5-instruct.jinja").Render(messages, true, T.Vars(("tools", new List<object?> { WeatherTool() }))));
    }

    [Fact]
    public void Qwen_3_renders_the_standard_conversation() =>
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n" +
            "<|im_start|>assistant\nHi there.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            Load("qwen3.jinja", null, "<|im_end|>").Render(Standard, true));

    [Fact]
    public void Qwen_3_with_thinking_off_adds_an_empty_think_block() =>
        Assert.Equal(
            "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
            Load("qwen3.jinja").Render(new[] { new ChatMessage("user", "Hello!") }, true, T.Vars(("enable_thinking", false))));

    [Fact]
    public void Qwen_3_keeps_reasoning_only_after_the_last_user_turn() =>
        Assert.Equal(
            "<|im_start|>user\nA<|im_end|>\n<|im_start|>assistant\nx<|im_end|>\n<|im_start|>user\nB<|im_end|>\n" +
            "<|im_start|>assistant\n<think>\nthought\n</think>\n\ny<|im_end|>\n",
            Load("qwen3.jinja").Render(new[]
            {
                new ChatMessage("user", "A"),
                new ChatMessage("assistant", "<think>\nold\n</think>\n\nx"),
                new ChatMessage("user", "B"),
                new ChatMessage("assistant", "<think>\nthought\n</think>\n\ny"),
            }, false));

    [Fact]
    public void Granite_4_0_renders_the_standard_conversation() =>
        Assert.Equal(
            "<|start_of_role|>system<|end_of_role|>You are a helpful assistant.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Hello!<|end_of_text|>\n" +
            "<|start_of_role|>assistant<|end_of_role|>Hi there.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>What is 2+2?<|end_of_text|>\n" +
            "<|start_of_role|>assistant<|end_of_role|>",
            Load("granite-4.0.jinja", null, "<|end_of_text|>").Render(Standard, true));

    [Fact]
    public void Granite_4_0_uses_its_default_system_message_without_one() =>
        Assert.Equal(
            "<|start_of_role|>system<|end_of_role|>You are a helpful assistant. Please ensure responses are professional, accurate, and safe.<|end_of_text|>\n" +
            "<|start_of_role|>user<|end_of_role|>Hello!<|end_of_text|>\n",
            Load("granite-4.0.jinja").Render(new[] { new ChatMessage("user", "Hello!") }, false));

    [Fact]
    public void Mistral_v0_3_renders_the_standard_conversation_with_the_system_prompt_in_the_last_user_turn() =>
        Assert.Equal(
            "<s>[INST] Hello![/INST] Hi there.</s>[INST] You are a helpful assistant.\n\nWhat is 2+2?[/INST]",
            Load("mistral-7b-instruct-v0.3.jinja", "<s>", "</s>").Render(Standard, true));

    [Fact]
    public void Mistral_v0_3_lists_available_tools_before_the_last_user_message() =>
        Assert.Equal(
            "<s>[AVAILABLE_TOOLS] [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the weather\", " +
            "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}][/AVAILABLE_TOOLS]" +
            "[INST] Weather in Paris?[/INST]",
            Load("mistral-7b-instruct-v0.3.jinja", "<s>", "</s>").Render(new[] { new ChatMessage("user", "Weather in Paris?") }, true,
                T.Vars(("tools", new List<object?> { WeatherTool() }))));

    [Fact]
    public void Mistral_v0_3_refuses_non_alternating_roles_through_raise_exception()
    {
        var ex = Assert.Throws<ChatTemplateRaisedException>(() =>
            Load("mistral-7b-instruct-v0.3.jinja", "<s>", "</s>").Render(new[] { new ChatMessage("user", "a"), new ChatMessage("user", "b") }, true));
        Assert.Equal("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...", ex.Reason);
    }
}
