using MambaGen.Declarations;

namespace MambaGen.Generators.Model;

/// <summary>One <c>[StateTensor]</c> state of a layer.</summary>
/// <param name="MemberName">The member giving the per-block shape.</param>
/// <param name="MemberKind">Property, field or parameterless method: how to read it.</param>
/// <param name="ShapeKind">The member's type: how to turn it into <c>long[]</c>.</param>
/// <param name="TupleArity">Number of tuple elements when <paramref name="ShapeKind"/> is a tuple, else 0.</param>
/// <param name="Dtype">The state's dtype rule, as declared.</param>
/// <param name="AccessorName">Name of the typed accessor of the state's tensor in the KV cache.</param>
/// <param name="EmitAccessor">False when the user already declared a member of that name.</param>
internal sealed record StateTensorModel(
    string MemberName,
    StateMemberKind MemberKind,
    StateShapeKind ShapeKind,
    int TupleArity,
    StateDtypeRule Dtype,
    string AccessorName,
    bool EmitAccessor);
