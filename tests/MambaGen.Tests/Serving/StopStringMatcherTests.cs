using MambaGen.Serving;

namespace MambaGen.Tests.Serving;

public class StopStringMatcherTests
{
    [Fact]
    public void Stop_string_split_over_three_pieces_is_found_and_nothing_of_it_is_emitted()
    {
        var matcher = new StopStringMatcher(new[] { "</end>" });

        Assert.Equal(("Hello ", false), matcher.Push("Hello <", final: false));
        Assert.Equal(("", false), matcher.Push("/en", final: false));
        Assert.Equal(("", true), matcher.Push("d> more", final: false));
    }

    [Fact]
    public void Text_held_as_a_possible_stop_is_released_when_it_turns_out_not_to_be_one()
    {
        var matcher = new StopStringMatcher(new[] { "STOP" });

        Assert.Equal(("a", false), matcher.Push("aST", final: false));
        Assert.Equal(("STa", false), matcher.Push("a", final: false));
        Assert.Equal(("x", false), matcher.Push("xS", final: false));
        Assert.Equal(("S", false), matcher.Push(string.Empty, final: true));
    }

    [Fact]
    public void The_earliest_of_several_stop_strings_wins()
    {
        var matcher = new StopStringMatcher(new[] { "bb", "a" });

        Assert.Equal(("xx", true), matcher.Push("xxabb", final: false));
    }

    [Fact]
    public void Without_stop_strings_text_passes_through()
    {
        var matcher = new StopStringMatcher(System.Array.Empty<string>());

        Assert.Equal(("abc", false), matcher.Push("abc", final: false));
    }
}
