using MambaGen.Generators.Model;

namespace MambaGen.Generators.Extraction;

/// <summary>A <c>[StateTensor]</c> member as read from the layer, before the states are put in order.</summary>
/// <param name="Order">The attribute's <c>Order</c>; negative means declaration order.</param>
/// <param name="DeclarationIndex">Position among the layer's members, for the declaration-order tail.</param>
internal readonly record struct StateTensorDeclaration(
    string MemberName,
    StateMemberKind MemberKind,
    StateShapeKind ShapeKind,
    int TupleArity,
    StateDtypeRule Dtype,
    int Order,
    int DeclarationIndex);
