using MambaGen.Generators.Helpers;

namespace MambaGen.Generators.Model;

/// <summary>What a valid layer declares: the values its generated overrides return and the states they list.</summary>
/// <param name="MambaType">The name returned by <c>MambaType</c>.</param>
/// <param name="BackendTypeName"><c>global::</c>-qualified backend type returned by <c>GetAttnBackend()</c>.</param>
/// <param name="States">The <c>[StateTensor]</c> states in <c>GetStateShape()</c> order.</param>
internal sealed record LayerSpec(
    string MambaType,
    string BackendTypeName,
    EquatableArray<StateTensorModel> States);
