namespace MambaGen.Generators.Model;

/// <summary>One type re-declared as <c>partial</c> in the generated file (the layer or a type containing it).</summary>
/// <param name="Keyword">The declaration keyword(s): <c>class</c>, <c>struct</c>, <c>interface</c>, <c>record</c> or <c>record struct</c>.</param>
/// <param name="NameWithTypeParameters">The name as written, with type parameters (e.g. <c>Layer&lt;T&gt;</c>).</param>
internal sealed record TypeDeclarationModel(string Keyword, string NameWithTypeParameters);
