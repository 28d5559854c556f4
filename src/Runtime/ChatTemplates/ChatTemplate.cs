using System;
using System.Collections.Generic;

namespace MambaGen.ChatTemplates;

/// <summary>Sandbox limits for one render; the defaults are far above what real chat templates need.</summary>
public sealed record ChatTemplateLimits
{
    /// <summary>Statements, loop iterations, calls and filters executed in one render.</summary>
    public long MaxSteps { get; init; } = 1_000_000;

    /// <summary>Characters of output (and of any one string or list built along the way).</summary>
    public int MaxOutputChars { get; init; } = 4_000_000;

    /// <summary>Nesting of macro calls (recursion).</summary>
    public int MaxCallDepth { get; init; } = 64;

    /// <summary>Items one <c>range()</c> may produce.</summary>
    public int MaxRange { get; init; } = 100_000;
}

/// <summary>What a template renders with besides the conversation.</summary>
public sealed record ChatTemplateOptions
{
    /// <summary>The tokenizer's BOS token string, exposed as <c>bos_token</c> (left undefined when null, as transformers does for a tokenizer without one).</summary>
    public string? BosToken { get; init; }

    /// <summary>The tokenizer's EOS token string, exposed as <c>eos_token</c> (left undefined when null).</summary>
    public string? EosToken { get; init; }

    /// <summary>The tokenizer's other special tokens by variable name (<c>unk_token</c>, <c>pad_token</c>, ...), as
    /// transformers passes its <c>special_tokens_map</c>; null or absent names stay undefined.</summary>
    public IReadOnlyDictionary<string, string>? OtherSpecialTokens { get; init; }

    /// <summary>The clock behind <c>strftime_now</c>; null is local time, as transformers' <c>datetime.now()</c>.</summary>
    public Func<DateTime>? Clock { get; init; }

    public ChatTemplateLimits Limits { get; init; } = new();
}

/// <summary>
/// A HuggingFace chat template (Jinja), parsed once and rendered with transformers' semantics: trim_blocks and
/// lstrip_blocks on, <c>tojson</c> as transformers defines it, <c>raise_exception</c>, <c>strftime_now</c>, the
/// loopcontrols extension and the <c>generation</c> tag. Rendering is sandboxed (no reflection, no file system,
/// bounded steps, recursion and output). See docs/chat-templates.md.
/// </summary>
public sealed class ChatTemplate
{
    private readonly List<Node> _body;
    private readonly Lexer _lexer;

    private readonly ChatTemplateOptions _options;

    private ChatTemplate(string source, List<Node> body, Lexer lexer, ChatTemplateOptions options)
    {
        Source = source;
        _body = body;
        _lexer = lexer;
        _options = options;
    }

    public string Source { get; }

    /// <summary>The tokens, clock and limits this template renders with.</summary>
    public ChatTemplateOptions Options => _options;

    /// <summary>
    /// Parses <paramref name="source"/>; a syntax error or unsupported construct is a <see cref="ChatTemplateException"/>
    /// with its line and column. <paramref name="options"/> gives bos_token/eos_token, the clock and the sandbox limits.
    /// </summary>
    public static ChatTemplate Parse(string source, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var (tokens, lexer) = Lexer.Tokenize(source);
        var body = Parser.Parse(tokens, lexer);
        return new ChatTemplate(source, body, lexer, options ?? new ChatTemplateOptions());
    }

    /// <summary>The same parsed template with other options.</summary>
    public ChatTemplate WithOptions(ChatTemplateOptions options) => new(Source, _body, _lexer, options);

    /// <summary>
    /// Renders a conversation as transformers' <c>apply_chat_template(messages, tools=None, documents=None,
    /// add_generation_prompt=..., tokenize=False, **extra)</c> does. <paramref name="extra"/> adds or overrides
    /// variables (e.g. <c>tools</c>, <c>enable_thinking</c>, <c>bos_token</c>); its values may be .NET primitives,
    /// lists, dictionaries or System.Text.Json elements.
    /// </summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = new List<object?>(messages.Count);
        foreach (var m in messages) list.Add(Py.FromMessage(m));
        var globals = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["messages"] = list,
            ["tools"] = null,
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        if (_options.BosToken is not null) globals["bos_token"] = _options.BosToken;
        if (_options.EosToken is not null) globals["eos_token"] = _options.EosToken;
        if (_options.OtherSpecialTokens is not null)
            foreach (var kv in _options.OtherSpecialTokens) globals[kv.Key] = kv.Value;
        if (extra is not null)
            foreach (var kv in extra) globals[kv.Key] = Py.FromDotNet(kv.Value);
        return new Interpreter(_lexer, _options.Limits, _options.Clock ?? (() => DateTime.Now)).Run(_body, globals);
    }
}
