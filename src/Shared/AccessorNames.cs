using System;
using System.Globalization;

namespace MambaGen;

/// <summary>
/// Shared by the generator (which writes the accessors) and the analyzers (which check their names).
/// The naming rule of the typed KV-cache accessors: drop a trailing <c>Shape</c>, add <c>Tensor</c>, and make a field
/// name public-looking (leading underscores dropped, first letter upper case): <c>ConvState</c>,
/// <c>ConvStateShape</c> → <c>ConvStateTensor</c>; <c>_convShape</c> → <c>ConvTensor</c>; <c>_1</c> → <c>_1Tensor</c>.
/// </summary>
internal static class AccessorNames
{
    private const string ShapeSuffix = "Shape";
    private const string TensorSuffix = "Tensor";

    public static string For(string memberName)
    {
        string stem = memberName.TrimStart('_');
        if (stem.EndsWith(ShapeSuffix, StringComparison.Ordinal))
        {
            stem = stem.Substring(0, stem.Length - ShapeSuffix.Length);
        }

        // An identifier starts with a letter or '_': a stem starting otherwise (`_1` gives "1") keeps one underscore.
        if (stem.Length > 0)
        {
            stem = char.IsLetter(stem[0]) ? char.ToUpper(stem[0], CultureInfo.InvariantCulture) + stem.Substring(1) : "_" + stem;
        }

        return stem + TensorSuffix;
    }
}
