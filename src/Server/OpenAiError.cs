using System;
using System.Text.Json;

namespace MambaGen.Server;

/// <summary>
/// A request the server refuses, as OpenAI's error body says it:
/// <c>{"error": {"message", "type", "param", "code"}}</c> with the HTTP status; <see cref="Param"/> names the
/// request field at fault (e.g. <c>temperature</c>, <c>messages[2].role</c>).
/// </summary>
public sealed class OpenAiError : Exception
{
    public OpenAiError(int status, string type, string message, string? param = null, string? code = null, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
        Type = type;
        Param = param;
        Code = code;
    }

    public int Status { get; }

    /// <summary>OpenAI's error type: invalid_request_error, not_found_error, rate_limit_error, server_error, ...</summary>
    public string Type { get; }

    public string? Param { get; }

    public string? Code { get; }

    /// <summary>Seconds the client should wait before trying again (sent as Retry-After), or null.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>400: the field <paramref name="param"/> is wrong.</summary>
    public static OpenAiError BadField(string param, string message) => new(400, "invalid_request_error", message, param);

    public static OpenAiError BadRequest(string message) => new(400, "invalid_request_error", message);

    public void WriteBody(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", Message);
        json.WriteString("type", Type);
        json.WriteString("param", Param);
        if (Code is null) json.WriteNull("code");
        else json.WriteString("code", Code);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
