using System.Collections.Generic;

namespace MambaGen.Tests.ChatTemplates;

public class StatementTests
{
    [Theory]
    [InlineData(1, "one")]
    [InlineData(2, "two")]
    [InlineData(3, "many")]
    public void If_elif_else_picks_the_first_true_branch(long n, string expected) =>
        Assert.Equal(expected, T.R("{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %}", T.Vars(("n", n))));

    [Fact]
    public void For_exposes_loop_index_first_last_and_length() =>
        Assert.Equal("10TrueFalse3;21FalseFalse3;32FalseTrue3;",
            T.R("{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}"));

    [Fact]
    public void For_exposes_previtem_and_nextitem() =>
        Assert.Equal("-a-b|a-b-c|b-c-",
            T.R("{% for x in ['a', 'b', 'c'] %}{{ loop.previtem }}-{{ x }}-{{ loop.nextitem }}{% if not loop.last %}|{% endif %}{% endfor %}"));

    [Fact]
    public void For_else_runs_when_nothing_is_iterated() =>
        Assert.Equal("empty", T.R("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"));

    [Fact]
    public void For_with_an_if_filter_counts_only_kept_items() =>
        Assert.Equal("2/2 4/2 ", T.R("{% for x in [1, 2, 3, 4] if x % 2 == 0 %}{{ x }}/{{ loop.length }} {% endfor %}"));

    [Fact]
    public void For_unpacks_dict_items() =>
        Assert.Equal("a=1;b=2;", T.R("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"));

    [Fact]
    public void For_over_a_dict_walks_its_keys_in_order() =>
        Assert.Equal("zya", T.R("{% for k in {'z': 1, 'y': 2, 'a': 3} %}{{ k }}{% endfor %}"));

    [Fact]
    public void Break_and_continue_follow_loopcontrols() =>
        Assert.Equal("13", T.R("{% for x in range(10) %}{% if x == 4 %}{% break %}{% endif %}{% if x % 2 == 0 %}{% continue %}{% endif %}{{ x }}{% endfor %}"));

    [Fact]
    public void Set_inside_a_loop_does_not_leak_out_of_it() =>
        Assert.Equal("1", T.R("{% set x = 1 %}{% for i in [1, 2] %}{% set x = 2 %}{% endfor %}{{ x }}"));

    [Fact]
    public void Namespace_attributes_carry_assignments_out_of_a_loop() =>
        Assert.Equal("3 True", T.R("{% set ns = namespace(total=0, seen=false) %}{% for i in [1, 2] %}{% set ns.total = ns.total + i %}{% set ns.seen = true %}{% endfor %}{{ ns.total }} {{ ns.seen }}"));

    [Fact]
    public void Set_at_top_level_inside_if_is_visible_after_it() =>
        Assert.Equal("b", T.R("{% if true %}{% set x = 'b' %}{% endif %}{{ x }}"));

    [Fact]
    public void Set_can_unpack_a_tuple() =>
        Assert.Equal("2-1", T.R("{% set a, b = 1, 2 %}{{ b }}-{{ a }}"));

    [Fact]
    public void Block_set_captures_rendered_text() =>
        Assert.Equal("[hi 3]", T.R("{% set s %}hi {{ 1 + 2 }}{% endset %}[{{ s }}]"));

    [Fact]
    public void Macros_take_positional_keyword_and_default_arguments() =>
        Assert.Equal("<a|2><b|x>", T.R("{% macro tag(name, v=2) %}<{{ name }}|{{ v }}>{% endmacro %}{{ tag('a') }}{{ tag(v='x', name='b') }}"));

    [Fact]
    public void Call_blocks_pass_caller_to_the_macro() =>
        Assert.Equal("(inner)", T.R("{% macro wrap() %}({{ caller() }}){% endmacro %}{% call wrap() %}inner{% endcall %}"));

    [Fact]
    public void Filter_blocks_filter_their_body() =>
        Assert.Equal("ABC", T.R("{% filter upper %}abc{% endfilter %}"));

    [Fact]
    public void Generation_blocks_render_their_body() =>
        Assert.Equal("xy", T.R("x{% generation %}y{% endgeneration %}"));

    [Fact]
    public void Messages_and_add_generation_prompt_are_variables() =>
        Assert.Equal("user:hi|True",
            MambaGen.ChatTemplates.ChatTemplate.Parse("{% for m in messages %}{{ m.role }}:{{ m['content'] }}{% endfor %}|{{ add_generation_prompt }}")
                .Render(new[] { new MambaGen.ChatTemplates.ChatMessage("user", "hi") }, true));

    [Fact]
    public void Tool_calls_and_extra_message_keys_reach_the_template()
    {
        var call = new Dictionary<string, object?>
        {
            ["type"] = "function",
            ["function"] = new Dictionary<string, object?> { ["name"] = "f", ["arguments"] = new Dictionary<string, object?> { ["x"] = 1 } },
        };
        var msg = new MambaGen.ChatTemplates.ChatMessage("assistant", null, new[] { call }, new Dictionary<string, object?> { ["reasoning_content"] = "hmm" });
        var text = MambaGen.ChatTemplates.ChatTemplate.Parse("{% for m in messages %}{{ m.content }}|{{ m.tool_calls[0].function.name }}|{{ m.tool_calls[0].function.arguments | tojson }}|{{ m.reasoning_content }}{% endfor %}")
            .Render(new[] { msg }, false);
        Assert.Equal("None|f|{\"x\": 1}|hmm", text);
    }

    [Fact]
    public void Tools_default_to_none_and_extra_kwargs_override_variables() =>
        Assert.Equal("True|False|on",
            MambaGen.ChatTemplates.ChatTemplate.Parse("{{ tools is none }}|{{ bos_token is defined }}|{{ enable_thinking }}")
                .Render(new MambaGen.ChatTemplates.ChatMessage[0], false, T.Vars(("enable_thinking", "on"))));
}
