#if MAMBAGEN_COMPILER
namespace MambaGen.Declarations;

/// <summary>The kind of member a <c>[StateTensor]</c> sits on, which decides how the shape is read.</summary>
internal enum StateMemberKind
{
    Property,
    Field,
    Method,
}
#endif
