using System.Collections.Immutable;

namespace MambaGen.Analyzers.Inspection;

/// <summary>The names of the members the generator writes for a [MambaLayer] class.</summary>
internal static class GeneratedMemberNames
{
    public const string MambaType = "MambaType";
    public const string GetStateShape = "GetStateShape";
    public const string GetStateDtype = "GetStateDtype";
    public const string GetAttnBackend = "GetAttnBackend";

    /// <summary>The parameterless methods the generator overrides.</summary>
    public static readonly ImmutableArray<string> OverriddenMethods = ImmutableArray.Create(GetStateShape, GetStateDtype, GetAttnBackend);

    /// <summary>The overrides in the order the generator writes them, which is the order diagnostics list them in.</summary>
    public static readonly ImmutableArray<string> InWrittenOrder = ImmutableArray.Create(MambaType, GetStateShape, GetStateDtype, GetAttnBackend);
}
