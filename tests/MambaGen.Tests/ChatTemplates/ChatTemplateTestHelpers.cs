using System;
using System.Collections.Generic;
using MambaGen.ChatTemplates;

namespace MambaGen.Tests.ChatTemplates;

internal static class T
{
    public static readonly DateTime FixedNow = new(2026, 12, 4, 9, 5, 7);

    /// <summary>Renders <paramref name="source"/> with no messages and the given variables.</summary>
    public static string R(string source, IReadOnlyDictionary<string, object?>? vars = null, ChatTemplateLimits? limits = null) =>
        ChatTemplate.Parse(source, new ChatTemplateOptions { Clock = () => FixedNow, Limits = limits ?? new ChatTemplateLimits() })
            .Render(Array.Empty<ChatMessage>(), false, vars);

    public static Dictionary<string, object?> Vars(params (string Key, object? Value)[] kv)
    {
        var d = new Dictionary<string, object?>();
        foreach (var (k, v) in kv) d[k] = v;
        return d;
    }
}
