using System;

namespace MambaGen.Config;

/// <summary>The runtime's on/off environment switches, read one way: 0, false or off turns one off; 1, true or on turns
/// one on (case and surrounding spaces ignored).</summary>
internal static class EnvironmentSwitch
{
    /// <summary>The variable's value when it turns its switch off; null otherwise.</summary>
    public static string? OffValue(string variable) => Read(variable) is var value && value is "0" or "false" or "off" ? value : null;

    /// <summary>Whether the variable turns its switch on.</summary>
    public static bool IsOn(string variable) => Read(variable) is "1" or "true" or "on";

    private static string? Read(string variable) => Environment.GetEnvironmentVariable(variable)?.Trim().ToLowerInvariant();
}
