using System.Collections.Generic;
using MambaGen.ChatTemplates;

namespace MambaGen.Tests.ChatTemplates;

public class ErrorAndSandboxTests
{
    [Fact]
    public void Raise_exception_throws_its_message_with_the_position()
    {
        var ex = Assert.Throws<ChatTemplateRaisedException>(() => T.R("line one\n  {{ raise_exception('roles must alternate') }}"));
        Assert.Equal("roles must alternate", ex.Reason);
        Assert.Equal(2, ex.Line);
    }

    [Fact]
    public void Unsupported_tags_are_named_with_line_and_column()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("a\nb {% include 'x.jinja' %}"));
        Assert.Contains("'include'", ex.Message);
        Assert.Contains("unsupported construct", ex.Message);
        Assert.Equal(2, ex.Line);
        Assert.Equal(3, ex.Column);
    }

    [Fact]
    public void Unknown_filters_are_named_with_their_position()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => T.R("{{ 'a' }}\n{{ x | frobnicate }}"));
        Assert.Contains("'frobnicate'", ex.Message);
        Assert.Equal(2, ex.Line);
        Assert.Equal(6, ex.Column);
    }

    [Fact]
    public void Unknown_tests_are_named() =>
        Assert.Contains("'prime'", Assert.Throws<ChatTemplateException>(() => T.R("{{ 3 is prime }}")).Message);

    [Fact]
    public void Unclosed_blocks_report_what_was_expected()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% if x %}\nabc"));
        Assert.Contains("endif", ex.Message);
    }

    [Fact]
    public void Unterminated_expressions_point_at_their_start()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("ab\n  {{ x "));
        Assert.Equal(2, ex.Line);
        Assert.Equal(3, ex.Column);
    }

    [Fact]
    public void Syntax_errors_name_the_unexpected_token() =>
        Assert.Contains("'%}'", Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{% set x = %}")).Message);

    [Fact]
    public void Attribute_access_on_undefined_is_an_error() =>
        Assert.Contains("'missing' is undefined", Assert.Throws<ChatTemplateException>(() => T.R("{{ missing.attr }}")).Message);

    [Fact]
    public void Adding_a_string_and_a_number_is_a_type_error() =>
        Assert.Contains("unsupported operand types for +", Assert.Throws<ChatTemplateException>(() => T.R("{{ 'a' + 1 }}")).Message);

    [Fact]
    public void No_dotnet_members_are_reachable() =>
        Assert.Equal("|||", T.R("{{ messages.__class__ }}|{{ ''.__class__ }}|{{ 'x'.GetType }}|{{ range.Method }}"));

    [Fact]
    public void List_and_dict_mutators_are_refused_like_the_immutable_sandbox()
    {
        Assert.Contains("append", Assert.Throws<ChatTemplateException>(() => T.R("{% set l = [] %}{{ l.append(1) }}")).Message);
        Assert.Contains("update", Assert.Throws<ChatTemplateException>(() => T.R("{% set d = {} %}{{ d.update({'a': 1}) }}")).Message);
    }

    [Fact]
    public void Runaway_loops_stop_at_the_step_limit() =>
        Assert.Contains("sandbox limit", Assert.Throws<ChatTemplateException>(() =>
            T.R("{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}", limits: new ChatTemplateLimits { MaxSteps = 10_000 })).Message);

    [Fact]
    public void Output_is_bounded() =>
        Assert.Contains("output longer than", Assert.Throws<ChatTemplateException>(() =>
            T.R("{% for i in range(100) %}0123456789{% endfor %}", limits: new ChatTemplateLimits { MaxOutputChars = 500 })).Message);

    [Fact]
    public void String_repetition_is_bounded() =>
        Assert.Contains("sandbox limit", Assert.Throws<ChatTemplateException>(() =>
            T.R("{{ 'x' * 100000000 }}", limits: new ChatTemplateLimits { MaxOutputChars = 1000 })).Message);

    [Fact]
    public void Recursive_macros_stop_at_the_depth_limit() =>
        Assert.Contains("nested deeper", Assert.Throws<ChatTemplateException>(() =>
            T.R("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")).Message);

    [Fact]
    public void Range_is_bounded() =>
        Assert.Contains("range()", Assert.Throws<ChatTemplateException>(() => T.R("{{ range(10000000) | length }}")).Message);

    [Fact]
    public void Deeply_nested_expressions_are_refused_at_parse_time() =>
        Assert.Contains("nested too deeply", Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{{ " + new string('(', 500) + "1" + new string(')', 500) + " }}")).Message);

    [Theory]
    [InlineData("-")]
    [InlineData("not ")]
    public void Long_chains_of_unary_operators_are_refused_at_parse_time(string op) =>
        Assert.Contains("nested too deeply", Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse("{{ " + string.Concat(System.Linq.Enumerable.Repeat(op, 100_000)) + "1 }}")).Message);

    [Fact]
    public void Comparing_values_nested_deeper_than_the_limit_is_an_error_not_a_crash() =>
        Assert.Contains("nested too deeply", Assert.Throws<ChatTemplateException>(() =>
            T.R("{% set ns = namespace(a=[], b=[]) %}{% for i in range(1000) %}{% set ns.a = [ns.a] %}{% set ns.b = [ns.b] %}{% endfor %}{{ ns.a == ns.b }}")).Message);

    [Fact]
    public void Values_of_unknown_dotnet_types_are_refused_on_input() =>
        Assert.Throws<ChatTemplateException>(() => T.R("{{ x }}", new Dictionary<string, object?> { ["x"] = new System.Text.StringBuilder() }));
}
