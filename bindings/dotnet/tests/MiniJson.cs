// A strict JSON reader for the sim's record lines, since Mono's base class library
// as Debian installs it has none. Objects become Dictionary<string, object>, arrays
// List<object>, numbers double, and strings are decoded exactly (escapes, surrogate
// pairs), so that a Unicode round trip is checked on the decoded text, not on bytes.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace LcmOutcome.Tests
{
    internal sealed class MiniJson
    {
        private readonly string text;
        private int at;

        private MiniJson(string text)
        {
            this.text = text;
        }

        public static object Parse(string text)
        {
            var reader = new MiniJson(text);
            var value = reader.Value();
            reader.SkipSpace();
            if (reader.at != text.Length) throw reader.Error("trailing characters");
            return value;
        }

        private object Value()
        {
            SkipSpace();
            if (at >= text.Length) throw Error("unexpected end");
            char c = text[at];
            if (c == '{') return Object();
            if (c == '[') return Array();
            if (c == '"') return String();
            if (Literal("true")) return true;
            if (Literal("false")) return false;
            if (Literal("null")) return null;
            return Number();
        }

        private Dictionary<string, object> Object()
        {
            var result = new Dictionary<string, object>();
            at++;
            SkipSpace();
            if (Peek('}')) return result;
            while (true)
            {
                SkipSpace();
                var key = String();
                SkipSpace();
                Expect(':');
                if (result.ContainsKey(key)) throw Error("duplicate key " + key);
                result[key] = Value();
                SkipSpace();
                if (Peek('}')) return result;
                Expect(',');
            }
        }

        private List<object> Array()
        {
            var result = new List<object>();
            at++;
            SkipSpace();
            if (Peek(']')) return result;
            while (true)
            {
                result.Add(Value());
                SkipSpace();
                if (Peek(']')) return result;
                Expect(',');
            }
        }

        private string String()
        {
            Expect('"');
            var result = new StringBuilder();
            while (true)
            {
                if (at >= text.Length) throw Error("unterminated string");
                char c = text[at++];
                if (c == '"') return result.ToString();
                if (c < ' ') throw Error("control character in string");
                if (c != '\\')
                {
                    result.Append(c);
                    continue;
                }
                if (at >= text.Length) throw Error("unterminated escape");
                char e = text[at++];
                switch (e)
                {
                    case '"': result.Append('"'); break;
                    case '\\': result.Append('\\'); break;
                    case '/': result.Append('/'); break;
                    case 'b': result.Append('\b'); break;
                    case 'f': result.Append('\f'); break;
                    case 'n': result.Append('\n'); break;
                    case 'r': result.Append('\r'); break;
                    case 't': result.Append('\t'); break;
                    case 'u':
                        if (at + 4 > text.Length) throw Error("short \\u escape");
                        // Surrogate pairs arrive as two escapes and join in the UTF-16 builder.
                        result.Append((char)int.Parse(text.Substring(at, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        at += 4;
                        break;
                    default: throw Error("bad escape \\" + e);
                }
            }
        }

        private double Number()
        {
            int start = at;
            while (at < text.Length && "+-0123456789.eE".IndexOf(text[at]) >= 0) at++;
            double value;
            if (at == start || !double.TryParse(text.Substring(start, at - start), NumberStyles.Float, CultureInfo.InvariantCulture, out value))
                throw Error("bad value");
            return value;
        }

        private bool Literal(string word)
        {
            if (string.CompareOrdinal(text, at, word, 0, word.Length) != 0) return false;
            at += word.Length;
            return true;
        }

        private bool Peek(char c)
        {
            if (at < text.Length && text[at] == c)
            {
                at++;
                return true;
            }
            return false;
        }

        private void Expect(char c)
        {
            if (!Peek(c)) throw Error("expected '" + c + "'");
        }

        private void SkipSpace()
        {
            while (at < text.Length && " \t\r\n".IndexOf(text[at]) >= 0) at++;
        }

        private FormatException Error(string what)
        {
            return new FormatException("JSON: " + what + " at offset " + at + " of " + text);
        }
    }
}
