#if MAMBAGEN_COMPILER
namespace MambaGen.Declarations;

/// <summary>The supported types of a <c>[StateTensor]</c> member; each converts to <c>long[]</c> differently.</summary>
internal enum StateShapeKind
{
    /// <summary><c>long[]</c>: used as is.</summary>
    LongArray,

    /// <summary><c>int[]</c>: widened element by element.</summary>
    IntArray,

    /// <summary>A tuple of <c>int</c>/<c>long</c> elements: one array element per tuple element.</summary>
    Tuple,
}
#endif
