using System;

namespace MambaGen;

/// <summary>
/// Declares one recurrent state of a <see cref="MambaLayerAttribute"/> layer. The member (an instance property,
/// field or parameterless method) gives the state's per-block shape, computed from the layer's own fields, as
/// <c>long[]</c>, <c>int[]</c> or a tuple of integers.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class StateTensorAttribute : Attribute
{
    /// <summary>How the state's dtype is chosen. Default: <see cref="StateDtype.Auto"/>.</summary>
    public StateDtype Dtype { get; set; } = StateDtype.Auto;

    /// <summary>Position of the state in <c>GetStateShape()</c>; states without one follow in declaration order
    /// after those with one. Negative means "declaration order".</summary>
    public int Order { get; set; } = -1;
}
