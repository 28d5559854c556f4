#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
using Microsoft.CodeAnalysis;

namespace MambaGen.Diagnostics;

/// <summary>Every MambaGen diagnostic. The generator reports nothing; these explain why it wrote nothing or what it
/// wrote does not fit.</summary>
internal static class DiagnosticDescriptors
{
    /// <summary>
    /// Each rule's page is docs/diagnostics/{ID}.md in the repository. No help link is set: the project has no public
    /// repository URL yet, and a placeholder would send IDE users to a page that does not exist.
    /// </summary>
    public const string DocsFolder = "docs/diagnostics/";

    public static readonly DiagnosticDescriptor MambaBaseMembersMissing = Create(
        DiagnosticIds.MambaBaseMembersMissing,
        "MambaBase subclass implements neither the layer members nor [MambaLayer]",
        "'{0}' derives from MambaBase but does not implement {1}; mark it [MambaLayer(\"<mamba type>\")] and partial so the generator writes them",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "A concrete class deriving from MambaBase must implement MambaType, GetStateShape(), GetStateDtype() and GetAttnBackend(). The MambaGen generator writes them for classes marked [MambaLayer].");

    public static readonly DiagnosticDescriptor LayerNotPartial = Create(
        DiagnosticIds.LayerNotPartial,
        "A [MambaLayer] class and its containing types must be partial",
        "'{0}' is a [MambaLayer] layer but {1} not partial; the generator can only add members to partial types",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generator writes the layer's members in a second part of the class, which needs the class and every type containing it to be declared partial.");

    public static readonly DiagnosticDescriptor LayerNotMambaBase = Create(
        DiagnosticIds.LayerNotMambaBase,
        "[MambaLayer] on a class that does not derive from MambaBase",
        "'{0}' is marked [MambaLayer] but does not derive from MambaGen.MambaBase; the generator only writes layers that do",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The members the generator writes override MambaBase's abstract members, so a [MambaLayer] class must derive from MambaGen.MambaBase.");

    public static readonly DiagnosticDescriptor UnknownMambaType = Create(
        DiagnosticIds.UnknownMambaType,
        "Unknown mamba type",
        "Unknown mamba type '{0}'; did you mean '{1}'? Known types: {2}. A custom type name needs Backend = typeof(...).",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "Without a custom Backend, the mamba type picks the built-in backend, as vLLM's MAMBA_TYPE_TO_BACKEND_MAP does, so it must be one of the known types.");

    public static readonly DiagnosticDescriptor StaticStateTensor = Create(
        DiagnosticIds.StaticStateTensor,
        "[StateTensor] on a static member",
        "State '{0}' is static; a [StateTensor] member must be an instance member, since a state's shape comes from the layer's own sizes",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generator reads each state's shape from the layer instance, which holds the sizes the shape depends on; a static member cannot see them.");

    public static readonly DiagnosticDescriptor UnsupportedStateShape = Create(
        DiagnosticIds.UnsupportedStateShape,
        "[StateTensor] member cannot give a shape",
        "State '{0}' cannot give a shape: it {1}; a [StateTensor] member must be a field, readable property or parameterless method of type long[], int[] or a tuple of int/long",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generator turns each state's shape into a long[]; it reads it from a field, a readable property or a parameterless, non-generic method whose type is long[], int[] or a tuple of int/long.");

    public static readonly DiagnosticDescriptor LayerWithoutStates = Create(
        DiagnosticIds.LayerWithoutStates,
        "[MambaLayer] layer declares no state",
        "'{0}' is a [MambaLayer] layer but declares no [StateTensor] member; a mamba layer keeps at least one state",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "A mamba layer's cache page holds its states; a layer with none has nothing to cache, and GetStateShape() would be empty.");

    public static readonly DiagnosticDescriptor DuplicateStateOrder = Create(
        DiagnosticIds.DuplicateStateOrder,
        "Two states have the same Order",
        "State '{0}' has Order = {1}, as does state '{2}'; each explicit Order must be unique",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "Order is a state's position in GetStateShape(); two states cannot take the same position.");

    public static readonly DiagnosticDescriptor GeneratedMemberCollision = Create(
        DiagnosticIds.GeneratedMemberCollision,
        "Hand-written member collides with a generated one",
        "'{0}' is also written by the generator ({1}); remove the hand-written member",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "For a [MambaLayer] class the generator writes MambaType, GetStateShape(), GetStateDtype(), GetAttnBackend() and one <state>Tensor accessor per state; a hand-written member of the same name makes two definitions.");

    public static readonly DiagnosticDescriptor StateCountMismatch = Create(
        DiagnosticIds.StateCountMismatch,
        "Number of states does not fit the mamba type",
        "Mamba type '{0}' keeps {1} state(s) but '{2}' declares {3}",
        DiagnosticCategories.Design,
        DiagnosticSeverity.Warning,
        "Each built-in backend expects its mamba type's states (mamba1, mamba2, gdn_attention: conv and SSM state; short_conv, linear_attention: one state). A layer with a different number will not match its backend's metadata.");

    public static readonly DiagnosticDescriptor BackendNotMambaAttentionBackend = Create(
        DiagnosticIds.BackendNotMambaAttentionBackend,
        "Custom backend does not derive from MambaAttentionBackend",
        "Backend '{0}' of '{1}' does not derive from MambaGen.Backends.MambaAttentionBackend",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "GetAttnBackend() returns a MambaAttentionBackend, so a custom Backend type must derive from MambaGen.Backends.MambaAttentionBackend.");

    public static readonly DiagnosticDescriptor BackendNotConstructible = Create(
        DiagnosticIds.BackendNotConstructible,
        "Custom backend cannot be constructed",
        "Backend '{0}' of '{1}' {2}; a custom backend must be a non-abstract, non-generic class with a public parameterless constructor",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generated GetAttnBackend() creates one shared instance of the backend with new(), which needs a concrete, closed class with a public parameterless constructor.");

    public static readonly DiagnosticDescriptor StateTensorOutsideLayer = Create(
        DiagnosticIds.StateTensorOutsideLayer,
        "[StateTensor] outside a [MambaLayer] class has no effect",
        "[StateTensor] on '{0}' has no effect: '{1}' is not marked [MambaLayer]",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Warning,
        "The generator reads [StateTensor] members of [MambaLayer] classes only; elsewhere the attribute is ignored, which usually means [MambaLayer] was forgotten.");

    public static readonly DiagnosticDescriptor DuplicateStateAccessor = Create(
        DiagnosticIds.DuplicateStateAccessor,
        "Two states get the same accessor name",
        "States '{0}' and '{1}' would both get the accessor '{2}'; rename one of them",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generator names each state's accessor after its member, without a trailing \"Shape\", plus \"Tensor\"; two states whose names differ only by that suffix would get one accessor twice.");

    public static readonly DiagnosticDescriptor AccessorNameTaken = Create(
        DiagnosticIds.AccessorNameTaken,
        "A state gets no accessor",
        "State '{0}' gets no accessor '{1}': that is the name of {2}; rename the state to get one, or read it from KvCache at its place in GetStateNames()",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Warning,
        "A member may not take the name of its class or of one of its type parameters, so the generator leaves such a state's accessor out; the state itself is generated as usual.");

    public static readonly DiagnosticDescriptor EmptyMambaType = Create(
        DiagnosticIds.EmptyMambaType,
        "Mamba type is empty",
        "'{0}' has a custom Backend but an empty mamba type; give it a name, which MambaType returns and the engine's logs and specs show",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "With a custom Backend the mamba type can be any name, but not an empty or null one: the generated MambaType returns it, as vLLM's mamba_type names the layer's kind.");

    public static readonly DiagnosticDescriptor UnknownStateDtype = Create(
        DiagnosticIds.UnknownStateDtype,
        "State Dtype is not a StateDtype value",
        "State '{0}' has Dtype = {1}, which is not a StateDtype value; use Auto, Conv, Ssm, Float32, Float16 or BFloat16",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generator turns each state's Dtype into the dtype GetStateDtype() returns; a number cast to StateDtype that names none of its values has no dtype.");

    public static readonly DiagnosticDescriptor StateTensorOnAccessor = Create(
        DiagnosticIds.StateTensorOnAccessor,
        "[StateTensor] on an accessor",
        "[StateTensor] on the '{0}' accessor of '{1}' is not read; put it on the member itself",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generator reads [StateTensor] on fields, properties and methods of the layer; on a property's get or set accessor (or an event's) it marks no state.");

    public static readonly DiagnosticDescriptor FileLocalLayer = Create(
        DiagnosticIds.FileLocalLayer,
        "A [MambaLayer] layer cannot be file-local",
        "'{0}' is a [MambaLayer] layer but {1} file-local; the generator writes the layer's members in another file, which cannot extend a file-local type",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generated members go in a second part of the class in a generated file. A file-local type (or one nested in a file-local type) can only have parts in its own file, so the generator cannot complete it.");

    public static readonly DiagnosticDescriptor LanguageVersionTooLow = Create(
        DiagnosticIds.LanguageVersionTooLow,
        "C# version too low for the generated layer members",
        "The generated members of '{0}' need C# {1} or later, but the project uses C# {2}; raise LangVersion",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generator writes expression-bodied members and throw expressions (C# 7). With an older LangVersion it writes nothing, and reports this instead of code that does not compile.");

    public static readonly DiagnosticDescriptor NamespaceHiddenByType = Create(
        DiagnosticIds.NamespaceHiddenByType,
        "A global type hides a namespace the generated code needs",
        "The generated members of '{0}' name types in namespace '{1}', but the type '{1}' in the global namespace hides it; rename that type or move it into a namespace",
        DiagnosticCategories.Usage,
        DiagnosticSeverity.Error,
        "The generated members name global::System, global::MambaGen and global::TorchSharp types. A non-generic type with one of those names in the global namespace takes the name's place (CS0437), and no C# spelling reaches the namespace again.");

    private static DiagnosticDescriptor Create(string id, string title, string message, string category, DiagnosticSeverity severity, string description) =>
        new(id, title, message, category, severity, isEnabledByDefault: true, description);
}
#endif
