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
/// <param name="DisplayName">The layer's full C# name (<c>MyModels.Outer.Mixer&lt;T&gt;</c>), for the fallback's message.</param>
/// <param name="Overrides">The overrides to write: those the user wrote by hand are left out.</param>
/// <param name="Spec">The layer's state spec, or null when its declaration is invalid: then only throwing
/// overrides are written, so the class compiles and the analyzers can report what is wrong.</param>
/// <param name="FallbackRules">When <paramref name="Spec"/> is null, the IDs of the MG rules the declaration breaks (empty
/// when it only fails to compile): the fallback's message names them.</param>
/// <param name="NullableDirective">True to write <c>#nullable enable</c>, which needs C# 8.</param>
internal sealed record LayerModel(
    string HintName,
    string? Namespace,
    EquatableArray<TypeDeclarationModel> ContainingTypes,
    TypeDeclarationModel Layer,
    string DisplayName,
    GeneratedOverrides Overrides,
    LayerSpec? Spec,
    EquatableArray<string> FallbackRules,
    bool NullableDirective);
