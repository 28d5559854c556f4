using MambaGen.Generators.Helpers;

namespace MambaGen.Generators.Model;

/// <summary>
/// Everything the emitter needs to write one layer's generated part, as plain equatable values: no symbols,
/// syntax or locations, so an unchanged layer compares equal across runs and its output stays cached.
/// </summary>
/// <param name="HintName">Unique file name of the generated source (metadata name + <c>.g.cs</c>).</param>
/// <param name="Namespace">The layer's namespace, or null in the global namespace.</param>
/// <param name="ContainingTypes">Types the layer is nested in, outermost first.</param>
/// <param name="Layer">The layer class itself.</param>
/// <param name="MambaType">The name returned by <c>MambaType</c>.</param>
/// <param name="BackendTypeName"><c>global::</c>-qualified backend type returned by <c>GetAttnBackend()</c>.</param>
/// <param name="States">The <c>[StateTensor]</c> states in <c>GetStateShape()</c> order.</param>
/// <param name="Overrides">The overrides to write: those the user wrote by hand are left out.</param>
internal sealed record LayerModel(
    string HintName,
    string? Namespace,
    EquatableArray<TypeDeclarationModel> ContainingTypes,
    TypeDeclarationModel Layer,
    string MambaType,
    string BackendTypeName,
    EquatableArray<StateTensorModel> States,
    GeneratedOverrides Overrides);
