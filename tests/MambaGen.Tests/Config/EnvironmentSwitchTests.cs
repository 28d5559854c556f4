using System;
using MambaGen.Config;

namespace MambaGen.Tests.Config;

public class EnvironmentSwitchTests
{
    [Theory]
    [InlineData(null, null, false)]
    [InlineData(" OFF ", "off", false)]
    [InlineData("0", "0", false)]
    [InlineData("False", "false", false)]
    [InlineData("1", null, true)]
    [InlineData(" On", null, true)]
    [InlineData("TRUE", null, true)]
    [InlineData("maybe", null, false)]
    public void A_switch_reads_off_and_on_in_any_case_and_anything_else_as_neither(string? value, string? off, bool on)
    {
        // A variable of this test's own, so no other test reads it.
        string variable = $"MAMBAGEN_TEST_SWITCH_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(variable, value);
        try
        {
            Assert.Equal(off, EnvironmentSwitch.OffValue(variable));
            Assert.Equal(on, EnvironmentSwitch.IsOn(variable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }
}
