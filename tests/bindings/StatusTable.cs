// What does the .NET binding know of the C header's constants? Prints, as JSON, the
// LcmStatus enum, the exception classes (with the status each one carries), the class
// LcmException.For gives each status, the Lcm.Log* levels and the error buffer size,
// found by reflection, for tests/bindings_agree.rs. Compiled together with
// bindings/dotnet/LcmOutcome.cs, so that it can read the wrapper's internals.

using System;
using System.Linq;
using System.Reflection;
using System.Text;

namespace LcmOutcome.Probe
{
    internal static class StatusTable
    {
        // A value no version will define: what For gives for a status it does not know.
        private const int Unknown = int.MaxValue;

        private static int Main()
        {
            var json = new StringBuilder("{");
            var statuses = Enum.GetNames(typeof(LcmStatus))
                .Select(name => Pair(name, (int)Enum.Parse(typeof(LcmStatus), name)));
            json.Append("\"statuses\": [" + string.Join(", ", statuses) + "],\n");

            var assembly = typeof(LcmException).Assembly;
            var classes = assembly.GetTypes()
                .Where(t => t.IsPublic && t.IsSubclassOf(typeof(LcmException)))
                .OrderBy(t => t.Name)
                .Select(t =>
                {
                    var created = (LcmException)Activator.CreateInstance(t, "probe");
                    return Pair(t.Name, (int)created.Status);
                });
            json.Append("\"classes\": [" + string.Join(", ", classes) + "],\n");

            var values = Enum.GetValues(typeof(LcmStatus)).Cast<int>().Concat(new[] { Unknown });
            var raised = values.Select(v => Pair(LcmException.For((LcmStatus)v, "probe").GetType().Name, v));
            json.Append("\"raised\": [" + string.Join(", ", raised) + "],\n");
            json.Append("\"unknown\": " + Unknown + ",\n");

            var levels = typeof(Lcm).GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.IsLiteral && f.Name.StartsWith("Log", StringComparison.Ordinal))
                .Select(f => Pair(f.Name, (int)f.GetRawConstantValue()));
            json.Append("\"log_levels\": [" + string.Join(", ", levels) + "],\n");

            json.Append("\"error_size\": " + Native.ErrorSize + "}");
            Console.WriteLine(json);
            return 0;
        }

        // Every name printed is a C# identifier: nothing to escape.
        private static string Pair(string name, int value)
        {
            return "[\"" + name + "\", " + value + "]";
        }
    }
}
