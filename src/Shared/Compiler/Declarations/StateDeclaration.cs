#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
using Microsoft.CodeAnalysis;

namespace MambaGen.Declarations;

/// <summary>A <c>[StateTensor]</c> member of a layer, as read.</summary>
/// <param name="Member">The member.</param>
/// <param name="MemberKind">How the shape is read; meaningful only when <paramref name="IsReadable"/>.</param>
/// <param name="ShapeKind">How the shape converts to <c>long[]</c>; meaningful only when <paramref name="IsReadable"/>.</param>
/// <param name="TupleArity">Number of tuple elements for a tuple shape, else 0.</param>
/// <param name="Dtype">The declared dtype rule.</param>
/// <param name="Order">The explicit position in GetStateShape(); null for declaration order (none, or negative).</param>
/// <param name="OrderLocation">Where Order is written (the attribute when it is not).</param>
/// <param name="DeclarationIndex">Position among the layer's members, for the declaration-order tail.</param>
/// <param name="AccessorName">The typed accessor the generator writes for the state.</param>
/// <param name="IsReadable">True when the generator can read a shape from the member.</param>
internal sealed record StateDeclaration(
    ISymbol Member,
    StateMemberKind MemberKind,
    StateShapeKind ShapeKind,
    int TupleArity,
    StateDtypeRule Dtype,
    int? Order,
    Location OrderLocation,
    int DeclarationIndex,
    string AccessorName,
    bool IsReadable);
#endif
