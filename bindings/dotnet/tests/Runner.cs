// A small test runner: runs named test methods in order, prints each result, and
// ends with one "N passed, N failed" line. No NUnit, so that mcs and mono are all
// the tests need.

using System;
using System.Collections.Generic;

namespace LcmOutcome.Tests
{
    internal sealed class Runner
    {
        private readonly List<KeyValuePair<string, Action>> tests = new List<KeyValuePair<string, Action>>();

        public void Add(string name, Action test)
        {
            tests.Add(new KeyValuePair<string, Action>(name, test));
        }

        /// <summary>
        /// Runs the tests whose names are in <paramref name="only"/>, or all when it is
        /// empty; returns the process exit status (1 when any failed or none ran).
        /// </summary>
        public int Run(string[] only)
        {
            int passed = 0, failed = 0;
            foreach (var test in tests)
            {
                if (only.Length > 0 && Array.IndexOf(only, test.Key) < 0) continue;
                try
                {
                    test.Value();
                    passed++;
                    Console.WriteLine("ok   " + test.Key);
                }
                catch (Exception e)
                {
                    failed++;
                    Console.WriteLine("FAIL " + test.Key + ": " + e);
                }
            }
            Console.WriteLine("dotnet: " + passed + " passed, " + failed + " failed");
            return failed == 0 && passed > 0 ? 0 : 1;
        }
    }

    /// <summary>Thrown by the checks below; the runner prints its message.</summary>
    internal sealed class AssertionFailed : Exception
    {
        public AssertionFailed(string message) : base(message) { }
    }

    internal static class Assert
    {
        public static void True(bool condition, string what)
        {
            if (!condition) throw new AssertionFailed(what);
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                throw new AssertionFailed(what + ": expected <" + expected + ">, got <" + actual + ">");
        }

        public static void Contains(string part, string text, string what)
        {
            if (text == null || text.IndexOf(part, StringComparison.Ordinal) < 0)
                throw new AssertionFailed(what + ": <" + text + "> lacks <" + part + ">");
        }

        /// <summary>
        /// Runs <paramref name="action"/>, which must throw exactly a
        /// <typeparamref name="T"/> (not a subclass, not another type); returns it.
        /// </summary>
        public static T Throws<T>(Action action, string what) where T : Exception
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                if (e.GetType() == typeof(T)) return (T)e;
                throw new AssertionFailed(what + ": expected " + typeof(T).Name + ", got " + e);
            }
            throw new AssertionFailed(what + ": expected " + typeof(T).Name + ", nothing was thrown");
        }
    }
}
