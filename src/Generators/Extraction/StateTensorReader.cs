using Microsoft.CodeAnalysis;
using MambaGen.Generators.Model;

namespace MambaGen.Generators.Extraction;

/// <summary>Reads one <c>[StateTensor]</c> member; returns null for anything the generator cannot emit (the analyzer explains).</summary>
internal static class StateTensorReader
{
    public static StateTensorDeclaration? Read(ISymbol member, AttributeData attribute, int declarationIndex)
    {
        if (member.IsStatic || !TryGetMemberKind(member, out var memberKind, out var type))
        {
            return null;
        }

        if (!TryGetShapeKind(type, out var shapeKind, out int tupleArity))
        {
            return null;
        }

        var dtype = StateDtypeRule.Auto;
        int order = -1;
        foreach (var argument in attribute.NamedArguments)
        {
            // Kind first: TypedConstant.Value throws for arrays, which broken code can produce.
            if (argument.Value.Kind is not (TypedConstantKind.Enum or TypedConstantKind.Primitive) || argument.Value.Value is not int value)
            {
                return null;
            }

            switch (argument.Key)
            {
                case TypeNames.DtypeArgument:
                    if (value < (int)StateDtypeRule.Auto || value > (int)StateDtypeRule.BFloat16)
                    {
                        return null;
                    }

                    dtype = (StateDtypeRule)value;
                    break;
                case TypeNames.OrderArgument:
                    order = value;
                    break;
            }
        }

        return new StateTensorDeclaration(member.Name, memberKind, shapeKind, tupleArity, dtype, order, declarationIndex);
    }

    private static bool TryGetMemberKind(ISymbol member, out StateMemberKind kind, out ITypeSymbol type)
    {
        switch (member)
        {
            case IPropertySymbol { IsIndexer: false, GetMethod: not null } property:
                kind = StateMemberKind.Property;
                type = property.Type;
                return true;
            case IFieldSymbol field:
                kind = StateMemberKind.Field;
                type = field.Type;
                return true;
            case IMethodSymbol { MethodKind: MethodKind.Ordinary, Parameters.Length: 0, TypeParameters.Length: 0, ReturnsVoid: false } method:
                kind = StateMemberKind.Method;
                type = method.ReturnType;
                return true;
            default:
                kind = default;
                type = null!;
                return false;
        }
    }

    private static bool TryGetShapeKind(ITypeSymbol type, out StateShapeKind kind, out int tupleArity)
    {
        tupleArity = 0;
        kind = default;
        if (type is IArrayTypeSymbol { Rank: 1 } array)
        {
            switch (array.ElementType.SpecialType)
            {
                case SpecialType.System_Int64:
                    kind = StateShapeKind.LongArray;
                    return true;
                case SpecialType.System_Int32:
                    kind = StateShapeKind.IntArray;
                    return true;
                default:
                    return false;
            }
        }

        if (type is INamedTypeSymbol { IsTupleType: true } tuple)
        {
            foreach (var element in tuple.TupleElements)
            {
                if (element.Type.SpecialType is not (SpecialType.System_Int32 or SpecialType.System_Int64))
                {
                    return false;
                }
            }

            kind = StateShapeKind.Tuple;
            tupleArity = tuple.TupleElements.Length;
            return tupleArity > 0;
        }

        return false;
    }
}
