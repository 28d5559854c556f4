using System;
using System.Globalization;
using System.Text;

namespace MambaGen.ChatTemplates;

/// <summary>Python's <c>datetime.strftime</c> for the directives chat templates use (C locale).</summary>
internal static class Strftime
{
    public static string Format(DateTime t, string format)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%' || i + 1 >= format.Length)
            {
                sb.Append(c);
                continue;
            }
            char d = format[++i];
            bool noPad = false;
            if (d == '-' && i + 1 < format.Length)
            {
                noPad = true;
                d = format[++i];
            }
            string Pad(int v) => noPad ? v.ToString(inv) : v.ToString("00", inv);
            switch (d)
            {
                case 'Y': sb.Append(t.Year.ToString("0000", inv)); break;
                case 'y': sb.Append(Pad(t.Year % 100)); break;
                case 'm': sb.Append(Pad(t.Month)); break;
                case 'd': sb.Append(Pad(t.Day)); break;
                case 'e': sb.Append(t.Day.ToString(inv).PadLeft(2)); break;
                case 'H': sb.Append(Pad(t.Hour)); break;
                case 'I': sb.Append(Pad(t.Hour % 12 == 0 ? 12 : t.Hour % 12)); break;
                case 'M': sb.Append(Pad(t.Minute)); break;
                case 'S': sb.Append(Pad(t.Second)); break;
                case 'p': sb.Append(t.Hour < 12 ? "AM" : "PM"); break;
                case 'B': sb.Append(t.ToString("MMMM", inv)); break;
                case 'b': case 'h': sb.Append(t.ToString("MMM", inv)); break;
                case 'A': sb.Append(t.ToString("dddd", inv)); break;
                case 'a': sb.Append(t.ToString("ddd", inv)); break;
                case 'j': sb.Append(noPad ? t.DayOfYear.ToString(inv) : t.DayOfYear.ToString("000", inv)); break;
                case 'w': sb.Append(((int)t.DayOfWeek).ToString(inv)); break;
                case 'f': sb.Append((t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", inv)); break;
                case 'F': sb.Append(t.ToString("yyyy-MM-dd", inv)); break;
                case 'T': sb.Append(t.ToString("HH:mm:ss", inv)); break;
                case '%': sb.Append('%'); break;
                default:
                    throw new ChatTemplateException($"unsupported construct: strftime directive '%{d}'");
            }
        }
        return sb.ToString();
    }
}
