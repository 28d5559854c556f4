namespace MambaGen.Tests.ChatTemplates;

public class WhitespaceControlTests
{
    [Fact]
    public void Plain_text_passes_through_and_one_trailing_newline_is_dropped() =>
        Assert.Equal("hello\n", T.R("hello\n\n"));

    [Fact]
    public void Trim_blocks_removes_the_newline_after_a_block_tag() =>
        Assert.Equal("A\nB", T.R("{% if true %}\nA\n{% endif %}\nB"));

    [Fact]
    public void Trim_blocks_does_not_apply_to_expression_tags() =>
        Assert.Equal("x\ny", T.R("{{ 'x' }}\ny"));

    [Fact]
    public void Lstrip_blocks_removes_indentation_before_a_block_tag_at_line_start() =>
        Assert.Equal("X\nY", T.R("    {% if true %}\nX\n    {% endif %}\nY"));

    [Fact]
    public void Lstrip_blocks_keeps_whitespace_when_the_tag_is_not_first_on_its_line() =>
        Assert.Equal("a  X", T.R("a  {% if true %}X{% endif %}"));

    [Fact]
    public void Lstrip_blocks_does_not_apply_to_expression_tags() =>
        Assert.Equal("  x", T.R("  {{ 'x' }}"));

    [Fact]
    public void Minus_strips_all_whitespace_on_its_side_including_newlines() =>
        Assert.Equal("abc", T.R("a  \n  {{- 'b' -}}  \n c"));

    [Fact]
    public void Minus_on_block_tags_strips_both_sides() =>
        Assert.Equal("[x]", T.R("[\n  {%- if true -%}\n  x\n  {%- endif -%}\n]"));

    [Fact]
    public void Plus_disables_lstrip_and_trim_blocks() =>
        Assert.Equal("  \nx", T.R("  {%+ if true +%}\nx\n{%- endif %}\n"));

    [Fact]
    public void Comments_are_removed_with_trim_and_lstrip_like_blocks() =>
        Assert.Equal("ab\nc", T.R("a{# note #}b\n   {# another #}\nc"));

    [Fact]
    public void Comment_with_minus_strips_around_it() =>
        Assert.Equal("ab", T.R("a \n {#- note -#} \n b"));

    [Fact]
    public void Windows_newlines_are_normalised() =>
        Assert.Equal("A\nB", T.R("{% if true %}\r\nA\r\n{% endif %}\r\nB"));

    [Fact]
    public void Raw_blocks_emit_their_text_unparsed() =>
        Assert.Equal("{{ x }}", T.R("{% raw %}{{ x }}{% endraw %}"));
}
