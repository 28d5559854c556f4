#if MAMBAGEN_COMPILER
namespace MambaGen.Declarations;

/// <summary>
/// The generator's copy of the runtime's <c>MambaGen.StateDtype</c> (same values): the generator cannot reference
/// the net10.0 runtime assembly, so it reads the enum's integer value from the attribute.
/// </summary>
internal enum StateDtypeRule
{
    Auto = 0,
    Conv = 1,
    Ssm = 2,
    Float32 = 3,
    Float16 = 4,
    BFloat16 = 5,
}
#endif
