using System;

namespace MambaGen;

/// <summary>
/// Marks a <c>partial</c> class deriving from <see cref="MambaBase"/> as a Mamba-like layer. The MambaGen source
/// generator writes its <c>MambaType</c>, <c>GetStateShape()</c>, <c>GetStateDtype()</c>, <c>GetAttnBackend()</c>
/// and one typed accessor per <see cref="StateTensorAttribute"/> state.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class MambaLayerAttribute : Attribute
{
    /// <param name="mambaType">One of vLLM's mamba types (<c>mamba1</c>, <c>mamba2</c>, <c>short_conv</c>,
    /// <c>linear_attention</c>, <c>gdn_attention</c>), or any name when <see cref="Backend"/> is set.</param>
    public MambaLayerAttribute(string mambaType) => MambaType = mambaType;

    public string MambaType { get; }

    /// <summary>A custom backend: a type deriving from <see cref="Backends.MambaAttentionBackend"/> with a public
    /// parameterless constructor. When set, it replaces the built-in backend of <see cref="MambaType"/>.</summary>
    public Type? Backend { get; set; }
}
