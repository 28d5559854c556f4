using System.Collections.Generic;

namespace MambaGen.ChatTemplates;

/// <summary>
/// One message of a conversation as chat templates see it: a dict with <c>role</c>, <c>content</c> (None when
/// null), <c>tool_calls</c> when given (a list of dicts such as
/// <c>{"type": "function", "function": {"name": ..., "arguments": {...}}}</c>) and any further keys in
/// <see cref="Extra"/> (e.g. <c>reasoning_content</c>, <c>tool_call_id</c>, <c>name</c>).
/// Values may be strings, numbers, bools, null, lists, dictionaries or <c>System.Text.Json</c> elements.
/// </summary>
public sealed record ChatMessage(
    string Role,
    string? Content,
    IReadOnlyList<IReadOnlyDictionary<string, object?>>? ToolCalls = null,
    IReadOnlyDictionary<string, object?>? Extra = null);
