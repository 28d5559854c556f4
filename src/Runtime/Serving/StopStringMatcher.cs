using System;
using System.Linq;

namespace MambaGen.Serving;

/// <summary>Finds stop strings in streamed text, across piece boundaries: text that could still be the start of a
/// stop string is held back until the next piece decides it.</summary>
internal sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private readonly int _longest;
    private string _held = string.Empty;

    public StopStringMatcher(string[] stops)
    {
        _stops = stops;
        _longest = stops.Length == 0 ? 0 : stops.Max(s => s.Length);
    }

    /// <summary>Adds text; returns what may be emitted and whether a stop string ended the text (the match and
    /// everything after it are dropped). <paramref name="final"/> releases whatever is held.</summary>
    public (string Emit, bool Stopped) Push(string text, bool final)
    {
        if (_stops.Length == 0)
        {
            return (text, false);
        }

        string buffer = _held + text;
        int first = -1;
        foreach (var stop in _stops)
        {
            int at = buffer.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }

        if (first >= 0)
        {
            _held = string.Empty;
            return (buffer[..first], true);
        }

        int keep = 0;
        if (!final)
        {
            for (int k = Math.Min(buffer.Length, _longest - 1); k > 0; k--)
            {
                string tail = buffer[(buffer.Length - k)..];
                if (_stops.Any(s => s.StartsWith(tail, StringComparison.Ordinal)))
                {
                    keep = k;
                    break;
                }
            }
        }

        _held = buffer[(buffer.Length - keep)..];
        return (buffer[..(buffer.Length - keep)], false);
    }
}
