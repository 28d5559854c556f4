using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace MambaGen.ChatTemplates;

/// <summary>
/// A checkpoint folder's chat template and special-token strings, as transformers finds them:
/// <c>chat_template.jinja</c> when present (it wins over the config, as in transformers), else
/// <c>tokenizer_config.json</c>'s <c>chat_template</c> (a string, or a list of <c>{name, template}</c> of which
/// "default" is taken); <c>bos_token</c>/<c>eos_token</c> from tokenizer_config.json as strings or as
/// <c>{"content": ...}</c> objects. Any of them is null when the folder has none.
/// </summary>
public sealed record TokenizerChatConfig(string? Template, string? BosToken, string? EosToken)
{
    public const string ConfigFileName = "tokenizer_config.json";

    /// <summary>The special tokens besides bos and eos that transformers' <c>special_tokens_map</c> passes to a template.</summary>
    public static readonly IReadOnlyList<string> OtherSpecialTokenNames = new[] { "unk_token", "sep_token", "pad_token", "cls_token", "mask_token" };

    /// <summary>Those of <see cref="OtherSpecialTokenNames"/> the config sets, by name (e.g. <c>pad_token</c>).</summary>
    public IReadOnlyDictionary<string, string> OtherSpecialTokens { get; init; } = new Dictionary<string, string>();

    public const string TemplateFileName = "chat_template.jinja";

    /// <summary>Reads the folder; malformed JSON or an unexpected chat_template shape is a <see cref="ChatTemplateException"/> naming the file.</summary>
    public static TokenizerChatConfig Read(string folder)
    {
        string? template = null, bos = null, eos = null;
        var others = new Dictionary<string, string>(StringComparer.Ordinal);
        var configPath = Path.Combine(folder, ConfigFileName);
        if (File.Exists(configPath))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(configPath),
                    new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
                var root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    bos = TokenString(root, "bos_token");
                    eos = TokenString(root, "eos_token");
                    foreach (var name in OtherSpecialTokenNames)
                    {
                        if (TokenString(root, name) is string token) others[name] = token;
                    }

                    if (root.TryGetProperty("chat_template", out var ct)) template = PickTemplate(ct, configPath);
                }
            }
            catch (JsonException ex)
            {
                throw new ChatTemplateException($"{configPath}: not valid JSON: {ex.Message}");
            }
        }
        var jinjaPath = Path.Combine(folder, TemplateFileName);
        if (File.Exists(jinjaPath)) template = File.ReadAllText(jinjaPath);
        return new TokenizerChatConfig(template, bos, eos) { OtherSpecialTokens = others };
    }

    /// <summary>Parses <see cref="Template"/> with the token strings; null when there is no template.</summary>
    public ChatTemplate? Load(Func<DateTime>? clock = null) =>
        Template is null ? null : ChatTemplate.Parse(Template,
            new ChatTemplateOptions { BosToken = BosToken, EosToken = EosToken, OtherSpecialTokens = OtherSpecialTokens, Clock = clock });

    private static string? TokenString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => null,
        };
    }

    private static string? PickTemplate(JsonElement ct, string path)
    {
        switch (ct.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return ct.GetString();
            case JsonValueKind.Array:
                foreach (var item in ct.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object
                        && item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default"
                        && item.TryGetProperty("template", out var t) && t.ValueKind == JsonValueKind.String)
                        return t.GetString();
                }
                return null;
            default:
                throw new ChatTemplateException($"{path}: chat_template must be a string or a list of {{name, template}} objects");
        }
    }
}
