#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MambaGen.Declarations;

/// <summary>
/// A <c>[MambaLayer]</c> class as <see cref="LayerDeclarationReader"/> read it: everything wrong with it, and what the
/// generator writes. The generator and the analyzers both read layers through it, so they cannot disagree on validity.
/// </summary>
internal sealed class LayerDeclaration
{
    public LayerDeclaration(
        INamedTypeSymbol type,
        bool canExtend,
        bool bindsCleanly,
        string? mambaType,
        string? backendTypeName,
        ImmutableArray<StateDeclaration> states,
        ImmutableArray<LayerProblem> problems)
    {
        Type = type;
        CanExtend = canExtend;
        BindsCleanly = bindsCleanly;
        MambaType = mambaType;
        BackendTypeName = backendTypeName;
        States = states;
        Problems = problems;
    }

    public INamedTypeSymbol Type { get; }

    /// <summary>True when the generator can add a part to the class: a class deriving from MambaBase, partial with
    /// every containing type, not file-local nor inside a file-local type.</summary>
    public bool CanExtend { get; }

    /// <summary>False when part of the declaration does not bind (a missing argument, an unknown type): the compiler
    /// reports that, and the generator writes the fallback.</summary>
    public bool BindsCleanly { get; }

    /// <summary>The mamba type string; null when it is null or does not bind.</summary>
    public string? MambaType { get; }

    /// <summary><c>global::</c>-qualified backend that GetAttnBackend() returns; null when there is none to return.</summary>
    public string? BackendTypeName { get; }

    /// <summary>The <c>[StateTensor]</c> members in declaration order.</summary>
    public ImmutableArray<StateDeclaration> States { get; }

    /// <summary>Every MG diagnostic of the layer, in the order found.</summary>
    public ImmutableArray<LayerProblem> Problems { get; }

    /// <summary>True when the generator writes the layer's real members; otherwise it writes the fallback (or nothing).</summary>
    public bool IsValid
    {
        get
        {
            if (!CanExtend || !BindsCleanly || MambaType is null || BackendTypeName is null || States.IsEmpty)
            {
                return false;
            }

            foreach (var problem in Problems)
            {
                if (LayerDeclarationReader.BlocksGeneration(problem.Descriptor))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
#endif
