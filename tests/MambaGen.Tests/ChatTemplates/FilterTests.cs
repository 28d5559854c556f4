namespace MambaGen.Tests.ChatTemplates;

public class FilterTests
{
    [Fact]
    public void Tojson_uses_pythons_default_separators_and_keeps_non_ascii() =>
        Assert.Equal("{\"a\": [1, 2.5, \"é\\n\\\"\", null, true], \"b\": {}}", T.R("{{ {'a': [1, 2.5, 'é\\n\"', none, true], 'b': {}} | tojson }}"));

    [Fact]
    public void Tojson_indent_uses_comma_newline_separators() =>
        Assert.Equal("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": []\n}", T.R("{{ {'a': [1, 2], 'b': []} | tojson(indent=2) }}"));

    [Fact]
    public void Tojson_accepts_separators_and_sort_keys() =>
        Assert.Equal("{\"a\":1,\"b\":[1,2]}", T.R("{{ {'b': [1, 2], 'a': 1} | tojson(separators=(',', ':'), sort_keys=true) }}"));

    [Fact]
    public void String_filters_work() =>
        Assert.Equal("x|ABC|abc|Hello world|a-b|Hello World", T.R("{{ '  x ' | trim }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello WORLD' | capitalize }}|{{ 'a b' | replace(' ', '-') }}|{{ 'hello world' | title }}"));

    [Fact]
    public void Length_count_first_last_and_list_work() =>
        Assert.Equal("3 2 0 1 3 ['a', 'b']", T.R("{{ [1, 2, 3] | length }} {{ 'ab' | count }} {{ nothing | length }} {{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'ab' | list }}"));

    [Fact]
    public void Default_replaces_undefined_and_with_boolean_also_falsy() =>
        Assert.Equal("d||e|v", T.R("{{ x | default('d') }}|{{ '' | default('e') }}|{{ '' | default('e', true) }}|{{ 'v' | d('w') }}"));

    [Fact]
    public void Join_joins_items_and_attributes() =>
        Assert.Equal("1, 2|a-b", T.R("{{ [1, 2] | join(', ') }}|{{ [{'n': 'a'}, {'n': 'b'}] | join('-', attribute='n') }}"));

    [Fact]
    public void Selectattr_rejectattr_and_map_filter_and_project() =>
        Assert.Equal("['u1', 'u2']|['a1']|['user', 'assistant', 'user']",
            T.R("{% set ms = [{'role': 'user', 'c': 'u1'}, {'role': 'assistant', 'c': 'a1'}, {'role': 'user', 'c': 'u2'}] %}" +
                "{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='c') | list }}|{{ ms | rejectattr('role', 'equalto', 'user') | map(attribute='c') | list }}|{{ ms | map(attribute='role') | list }}"));

    [Fact]
    public void Selectattr_with_one_argument_keeps_truthy_attributes() =>
        Assert.Equal("1", T.R("{{ [{'t': [1]}, {'t': []}, {}] | selectattr('t') | list | length }}"));

    [Fact]
    public void Int_string_safe_and_items_filters_work() =>
        Assert.Equal("42 3 0 7 <b> [['a', 1]]", T.R("{{ '42' | int }} {{ 3.9 | int }} {{ 'x' | int }} {{ 7 | string }} {{ '<b>' | safe }} {{ {'a': 1} | items | list }}"));

    [Fact]
    public void Indent_filter_indents_following_lines() =>
        Assert.Equal("a\n  b", T.R("{{ 'a\\nb' | indent(2) }}"));
}
