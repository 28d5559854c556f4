using System;

namespace MambaGen.Generators.Model;

/// <summary>Which of the <c>MambaBase</c> overrides the generator writes for a layer.</summary>
[Flags]
internal enum GeneratedOverrides
{
    None = 0,
    MambaType = 1,
    GetStateShape = 2,
    GetStateDtype = 4,
    GetAttnBackend = 8,

    /// <summary>Virtual, not abstract: names the states in MambaBase's error messages.</summary>
    GetStateNames = 16,

    /// <summary>The members the class needs to compile.</summary>
    Abstract = MambaType | GetStateShape | GetStateDtype | GetAttnBackend,
    All = Abstract | GetStateNames,
}
