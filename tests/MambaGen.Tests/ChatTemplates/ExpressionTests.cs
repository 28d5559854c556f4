using System.Collections.Generic;
using System.Text.Json;

namespace MambaGen.Tests.ChatTemplates;

public class ExpressionTests
{
    [Fact]
    public void Arithmetic_follows_python() =>
        Assert.Equal("3 -4 1 2 3.5 1024 7 2.5", T.R("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ 1 + 1.5 }}"));

    [Fact]
    public void Values_print_as_python_str() =>
        Assert.Equal("None True 1.0 [1, 'a', None] {'a': 1, 'b': \"it's\"} 0.1 1e+20",
            T.R("{{ none }} {{ true }} {{ 1.0 }} {{ [1, 'a', none] }} {{ {'a': 1, 'b': \"it's\"} }} {{ 0.1 }} {{ 1e20 }}"));

    [Fact]
    public void Undefined_prints_as_empty() =>
        Assert.Equal("[]", T.R("[{{ nothing }}]"));

    [Fact]
    public void Slicing_and_negative_indexing_follow_python() =>
        Assert.Equal("[2, 3] olleh 3 [1, 2] [4] l", T.R("{{ [1, 2, 3, 4][1:3] }} {{ 'hello'[::-1] }} {{ [1, 2, 3][-1] }} {{ [1, 2, 3, 4][:-2] }} {{ [1, 2, 3, 4][3:] }} {{ 'hello'[2] }}"));

    [Fact]
    public void In_and_not_in_work_on_strings_lists_and_dicts() =>
        Assert.Equal("True True True False", T.R("{{ 'a' in 'cat' }} {{ 3 not in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' in {'k': 1} }}"));

    [Fact]
    public void Tests_classify_values() =>
        Assert.Equal("False True True True True True True False True True",
            T.R("{{ x is defined }} {{ none is none }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 3 is number }} {{ 4 is divisibleby(2) }} {{ 'a' is not string }} {{ 1 is equalto 1 }} {{ 'ab' is lower }}"));

    [Fact]
    public void Boolean_operators_short_circuit_and_return_operands() =>
        Assert.Equal("b|a|True|False", T.R("{{ 'a' and 'b' }}|{{ 'a' or 'b' }}|{{ not none }}|{{ not (1 < 2 < 3) }}"));

    [Fact]
    public void Comparisons_chain_and_compare_across_int_and_float() =>
        Assert.Equal("True True False True", T.R("{{ 1 < 2 <= 2 }} {{ 1 == 1.0 }} {{ 'a' > 'b' }} {{ [1, 2] == [1, 2] }}"));

    [Fact]
    public void Tilde_concatenates_as_strings() =>
        Assert.Equal("a1None", T.R("{{ 'a' ~ 1 ~ none }}"));

    [Fact]
    public void Conditional_expressions_pick_a_branch() =>
        Assert.Equal("yes|", T.R("{{ 'yes' if 1 else 'no' }}|{{ 'x' if false }}"));

    [Fact]
    public void Filters_bind_tighter_than_plus() =>
        Assert.Equal("1\n", T.R("{{ 1 | string + '\\n' }}"));

    [Fact]
    public void String_literals_understand_python_escapes_and_adjacent_concatenation() =>
        Assert.Equal("a\tb\"c'dé", T.R("{{ 'a\\tb\"c' \"'d\\u00e9\" }}"));

    [Fact]
    public void String_methods_follow_python() =>
        Assert.Equal("x|['a', 'b', '']|True|ABC|bXb|['a', 'b']|ab|y z|False|1",
            T.R("{{ '  x  '.strip() }}|{{ 'a,b,'.split(',') }}|{{ 'Hello'.startswith('He') }}|{{ 'abc'.upper() }}|{{ 'aXa'.replace('a', 'b') }}|{{ ' a  b '.split() }}|{{ '\\nab\\n'.strip('\\n') }}|{{ ' y z'.lstrip() }}|{{ 'x'.endswith(('a', 'b')) }}|{{ 'abc'.find('b') }}"));

    [Fact]
    public void Dict_methods_give_items_keys_values_and_get() =>
        Assert.Equal("['a', 'b'] [1, 2] 2 def None", T.R("{% set d = {'a': 1, 'b': 2} %}{{ d.keys() | list }} {{ d.values() | list }} {{ d.get('b') }} {{ d.get('zz', 'def') }} {{ d.get('zz') }}"));

    [Fact]
    public void Attribute_access_falls_back_to_dict_keys_and_item_access_to_attributes()
    {
        var vars = T.Vars(("m", new Dictionary<string, object?> { ["role"] = "user", ["items"] = "shadowed" }));
        Assert.Equal("user user shadowed", T.R("{{ m.role }} {{ m['role'] }} {{ m['items'] }}", vars));
    }

    [Fact]
    public void Missing_attributes_and_indexes_are_undefined_not_errors() =>
        Assert.Equal("False False False", T.R("{{ {'a': 1}.b is defined }} {{ [1][5] is defined }} {{ none.x is defined }}"));

    [Fact]
    public void Json_element_inputs_become_template_values()
    {
        using var doc = JsonDocument.Parse("[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"n\": 1.5, \"ok\": true}}]");
        Assert.Equal("f 1.5 True", T.R("{{ tools[0].function.name }} {{ tools[0].function.n }} {{ tools[0].function.ok }}", T.Vars(("tools", doc.RootElement))));
    }

    [Fact]
    public void Strftime_now_formats_the_injected_clock() =>
        Assert.Equal("04 Dec 2026|December 04, 2026|2026-12-04 09:05:07", T.R("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %d, %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S') }}"));

    [Fact]
    public void Range_counts_like_python() =>
        Assert.Equal("[0, 1, 2] [3, 2, 1, 0]", T.R("{{ range(3) | list }} {{ range(3, -1, -1) | list }}"));
}
