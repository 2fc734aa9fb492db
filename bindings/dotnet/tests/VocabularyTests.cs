// Errors in C#'s terms: a configuration error that names an option says how to set it
// from C# (an LcmClient's Configure, or Lcm.Configure and LCM_<KEY> for the default
// client); null arguments are named as the C# parameters, before anything is sent;
// LcmRejectedException carries LCM's type, message and detail; and a missing or too
// old native library is explained, not a bare DllNotFoundException. What needs a
// process of its own (another environment, no library) runs in a child: this program
// started again with ChildArgument.

using System;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace LcmOutcome.Tests
{
    internal static class VocabularyTests
    {
        internal const string ChildArgument = "--vocabulary-child";

        private const string Account = "5|3|1|0|0|44|1";
        private const string ClientEndpointHint =
            "call client.Configure(\"endpoint\", ...) on the LcmClient (an LcmClient does not read LCM_ENDPOINT)";

        private static LcmClient ClientFor(string endpoint)
        {
            var client = new LcmClient();
            client.Configure("endpoint", endpoint);
            client.Configure("proxy", "none");
            return client;
        }

        private static void AssertNoCWords(LcmException e)
        {
            foreach (var word in new[] { "lcm_configure", "lcm_client_configure", "NULL" })
                Assert.True(e.Message.IndexOf(word, StringComparison.Ordinal) < 0, "C words in <" + e.Message + ">");
        }

        internal static void ClientHints()
        {
            using (var client = new LcmClient())
            {
                var e = LcmOutcomeTests.ExpectFailure<LcmConfigException>(LcmStatus.Config,
                    () => client.SetOutcome("dn-1", Account, "1", 0, "testagent", "", 0), "endpoint is not set");
                Assert.Equal(ClientEndpointHint, e.Hint, "Hint");
                Assert.True(e.Message.EndsWith("; hint: " + ClientEndpointHint, StringComparison.Ordinal), e.Message);
                AssertNoCWords(e);

                const string outboxHint = "call client.Configure(\"outbox\", ...) on the LcmClient";
                e = LcmOutcomeTests.ExpectFailure<LcmConfigException>(LcmStatus.Config, () => client.Flush(1000), "outbox");
                Assert.Equal(outboxHint, e.Hint, "Flush's hint");
                e = LcmOutcomeTests.ExpectFailure<LcmConfigException>(LcmStatus.Config, () => client.OutboxCount(), "outbox");
                Assert.Equal(outboxHint, e.Hint, "OutboxCount's hint");

                // Configure's own errors: the caller has just named the option.
                e = LcmOutcomeTests.ExpectFailure<LcmConfigException>(LcmStatus.Config,
                    () => client.Configure("timeout_ms", "soon"), "timeout_ms");
                Assert.Equal(null, e.Hint, "hint of a bad value");
                Assert.Equal("LCM_ERR_CONFIG: " + e.Detail, e.Message, "message of a bad value");
            }
        }

        internal static void DefaultClientHints()
        {
            // Other tests leave the default client as they found it: no endpoint, no outbox.
            Lcm.Configure("endpoint", "");
            Lcm.Configure("outbox", "");
            var e = LcmOutcomeTests.ExpectFailure<LcmConfigException>(LcmStatus.Config,
                () => Lcm.SetOutcome("dn-1", Account, "1", 0, "testagent", "", 0), "endpoint is not set");
            Assert.Equal("call Lcm.Configure(\"endpoint\", ...) or set LCM_ENDPOINT", e.Hint, "Hint");
            AssertNoCWords(e);
            e = LcmOutcomeTests.ExpectFailure<LcmConfigException>(LcmStatus.Config, () => Lcm.Flush(1000), "outbox");
            Assert.Equal("call Lcm.Configure(\"outbox\", ...) or set LCM_OUTBOX", e.Hint, "Flush's hint");

            // A bad variable is read at the default client's first use: in a fresh process.
            var child = RunChild("bad-variable", start =>
            {
                start.EnvironmentVariables["LCM_TIMEOUT_MS"] = "soon";
                start.EnvironmentVariables["LCM_ENDPOINT"] = Loopback.RefusedEndpoint();
                start.EnvironmentVariables["LCM_RETRIES"] = "0";
                start.EnvironmentVariables.Remove("LCM_SIM");
            });
            Assert.Equal("hint call Lcm.Configure(\"timeout_ms\", ...)|after LcmConnectException",
                         string.Join("|", Lines(child, "hint ", "after ")), "the child's report");
            Assert.Contains("environment variable LCM_TIMEOUT_MS", child, "the child's report");
        }

        internal static void NullArgumentsAreNamedInCSharp()
        {
            using (var sim = new SimProcess())
            using (var client = ClientFor(sim.Url))
            {
                var sends = new Action<string, string, string, string, string>[]
                {
                    (c, a, o, u, comments) => client.SetOutcome(c, a, o, 0, u, comments, 0),
                    (c, a, o, u, comments) => Lcm.SetOutcome(c, a, o, 0, u, comments, 0),
                };
                foreach (var send in sends)
                {
                    Null(() => send(null, Account, "1", "testagent", ""), "callId is null");
                    Null(() => send("dn-1", null, "1", "testagent", ""), "accountNumber is null");
                    Null(() => send("dn-1", Account, null, "testagent", ""), "outcomeId is null");
                    Null(() => send("dn-1", Account, "1", null, ""), "userId is null");
                    Null(() => send("dn-1", Account, "1", "testagent", null), "agentComments is null; pass \"\" for no comments");
                }
                var configures = new Action<string, string>[] { client.Configure, Lcm.Configure };
                foreach (var configure in configures)
                {
                    Null(() => configure(null, "x"), "key is null");
                    Null(() => configure("source", null), "value is null; pass \"\" to restore the option's default");
                }
                Assert.Equal(0, sim.Recorded().Count, "outcomes recorded");
            }
        }

        private static void Null(Action call, string detail)
        {
            var e = LcmOutcomeTests.ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument, call);
            Assert.Equal(detail, e.Detail, "Detail");
        }

        internal static void RejectedCarriesLcmFields()
        {
            using (var sim = new SimProcess(null, new[] { "dn-known" }))
            using (var client = ClientFor(sim.Url))
            {
                var e = LcmOutcomeTests.ExpectFailure<LcmRejectedException>(LcmStatus.Rejected,
                    () => client.SetOutcome("dn-unknown", Account, "1", 0, "testagent", "", 0));
                AssertFields(e, "WS_Error", "Invalid Call ID.", "Invalid Call ID:dn-unknown");
                // Detail is still the library's whole message.
                Assert.Equal("LCM rejected the outcome (success: false): type \"WS_Error\", " +
                             "message \"Invalid Call ID.\", detail \"Invalid Call ID:dn-unknown\"", e.Detail, "Detail");
            }
            using (var sim = new SimProcess(new[] { "--rejected-detail", "control-chars" }))
            using (var client = ClientFor(sim.Url))
            {
                var e = Assert.Throws<LcmRejectedException>(() => client.SetOutcome("dn-1", Account, "1", 0, "u", "", 0), "control characters");
                Assert.True(e.LcmDetail.StartsWith("cr:\\r lf:\\n esc:\\x1b[31m", StringComparison.Ordinal), e.LcmDetail);
                Assert.True(!e.LcmDetail.Any(char.IsControl), "control characters in " + e.LcmDetail);
                AssertFields(e, "WS_Error", "Invalid Call ID.", e.LcmDetail);
            }
            using (var sim = new SimProcess(new[] { "--answer-variant", "rejected-without-error" }))
            using (var client = ClientFor(sim.Url))
            {
                var e = Assert.Throws<LcmRejectedException>(() => client.SetOutcome("dn-1", Account, "1", 0, "u", "", 0), "no error object");
                Assert.Contains("without an error object", e.Detail, "Detail");
                AssertFields(e, null, null, null);
            }
        }

        internal static void RejectedFieldsReadBackFromTheMessage()
        {
            // What the library writes for answers the sim does not give: some fields
            // only, values holding quotes and the separators, another wording.
            const string prefix = "LCM rejected the outcome (success: false): ";
            AssertFields(new LcmRejectedException(prefix + "detail \"d\""), null, null, "d");
            AssertFields(new LcmRejectedException(prefix + "type \"T\", detail \"d\""), "T", null, "d");
            AssertFields(new LcmRejectedException(prefix + "type \"T\", message \"m\""), "T", "m", null);
            AssertFields(new LcmRejectedException(
                    prefix + "type \"WS_Error\", message \"say \"no\", please\", detail \"he said \"x\", detail \"y\"\""),
                "WS_Error", "say \"no\", please", "he said \"x\", detail \"y\"");
            AssertFields(new LcmRejectedException("LCM said no"), null, null, null);
            AssertFields(new LcmRejectedException(null), null, null, null);
        }

        private static void AssertFields(LcmRejectedException e, string type, string message, string detail)
        {
            Assert.Equal(type, e.LcmType, "LcmType of <" + e.Detail + ">");
            Assert.Equal(message, e.LcmMessage, "LcmMessage of <" + e.Detail + ">");
            Assert.Equal(detail, e.LcmDetail, "LcmDetail of <" + e.Detail + ">");
        }

        internal static void MissingLibraryIsExplained()
        {
            // The test program's directory holds no library, and without LD_LIBRARY_PATH
            // nothing points at one.
            var child = RunChild("no-library", start => start.EnvironmentVariables.Remove("LD_LIBRARY_PATH"));
            var calls = Lines(child, "call ").ToList();
            Assert.Equal(8, calls.Count, "calls reported: " + child);
            foreach (var call in calls)
                Assert.True(call.EndsWith(" LcmLibraryNotFoundException DllNotFoundException", StringComparison.Ordinal), call);
            var message = Between(child, "message<", ">message");
            Assert.Contains("cannot load the native library \"lcm_outcome\" (liblcm_outcome.so)", message, "message");
            var directory = Path.GetDirectoryName(typeof(VocabularyTests).Assembly.Location);
            Assert.Contains("  - beside the program: " + directory + "\n", message, "message");
            Assert.Contains("  - the directories on LD_LIBRARY_PATH (not set)\n", message, "message");
            Assert.Contains("  - a Mono <dllmap dll=\"lcm_outcome\" .../> in " + typeof(VocabularyTests).Assembly.Location + ".config", message, "message");
            Assert.Contains("add its directory to LD_LIBRARY_PATH", message, "message");
            Assert.Contains("(the runtime's error: ", message, "message");
            Assert.Equal("places 4", Lines(child, "places ").Single(), "SearchPlaces");
        }

        internal static void TooOldLibraryIsExplained()
        {
            var directory = Path.Combine(Path.GetTempPath(), "lcm-dotnet-old-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            try
            {
                // A library of an older API: it has lcm_version, not lcm_configure.
                var source = Path.Combine(directory, "old.c");
                File.WriteAllText(source,
                    "const char *lcm_version(void) { return \"0.0.1\"; }\n" +
                    "const char *lcm_status_name(int s) { (void)s; return \"LCM_UNKNOWN_STATUS\"; }\n");
                if (!CompileSharedLibrary(source, Path.Combine(directory, "liblcm_outcome.so"))) return;
                var child = RunChild("old-library", start => start.EnvironmentVariables["LD_LIBRARY_PATH"] = directory);
                Assert.Equal("version 0.0.1", Lines(child, "version ").Single(), "the old library's version");
                Assert.Equal("call Configure LcmLibraryNotFoundException EntryPointNotFoundException",
                             Lines(child, "call ").Single(), "Configure on the old library");
                var message = Between(child, "message<", ">message");
                Assert.Contains("lacks a function LcmOutcome.cs calls: it is older than this file", message, "message");
                Assert.Contains("  - the directories on LD_LIBRARY_PATH: " + directory + "\n", message, "message");
                Assert.Contains("lcm_configure", message, "the runtime's error names the function");
            }
            finally
            {
                Directory.Delete(directory, true);
            }
        }

        // Whether `cc` built the library; without a compiler the test is skipped with a
        // message, unless CI=true.
        private static bool CompileSharedLibrary(string source, string library)
        {
            var start = new ProcessStartInfo("cc", "-shared -fPIC -o \"" + library + "\" \"" + source + "\"")
            {
                UseShellExecute = false,
                RedirectStandardError = true,
            };
            Process compiler;
            try
            {
                compiler = Process.Start(start);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                if (Environment.GetEnvironmentVariable("CI") == "true")
                    throw new AssertionFailed("no C compiler (cc) under CI: " + e.Message);
                Console.WriteLine("skip too-old-library check: no C compiler (cc): " + e.Message);
                return false;
            }
            using (compiler)
            {
                var errors = compiler.StandardError.ReadToEnd();
                compiler.WaitForExit();
                Assert.Equal(0, compiler.ExitCode, "cc: " + errors);
            }
            return true;
        }

        /// <summary>This program started again with <see cref="ChildArgument"/> and <paramref name="what"/>; its stdout.</summary>
        private static string RunChild(string what, Action<ProcessStartInfo> adjust)
        {
            var self = Process.GetCurrentProcess().MainModule.FileName;
            var assembly = typeof(VocabularyTests).Assembly.Location;
            var start = new ProcessStartInfo(self, "--debug \"" + assembly + "\" " + ChildArgument + " " + what)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            adjust(start);
            using (var child = Process.Start(start))
            {
                var stdout = child.StandardOutput.ReadToEndAsync();
                var stderr = child.StandardError.ReadToEndAsync();
                Assert.True(child.WaitForExit(60000), "the child did not exit within 60 s");
                child.WaitForExit();
                Assert.Equal(0, child.ExitCode, "the child's exit status (stdout: " + stdout.Result + " stderr: " + stderr.Result + ")");
                return stdout.Result.Replace("\r\n", "\n");
            }
        }

        // The child's own lines: the runtime may print notes of its own.
        private static string[] Lines(string output, params string[] prefixes)
        {
            return output.Split('\n')
                .Where(l => prefixes.Any(p => l.StartsWith(p, StringComparison.Ordinal)))
                .ToArray();
        }

        private static string Between(string output, string start, string end)
        {
            int from = output.IndexOf(start, StringComparison.Ordinal);
            int to = output.IndexOf(end, StringComparison.Ordinal);
            Assert.True(from >= 0 && to > from, "no " + start + "..." + end + " in " + output);
            return output.Substring(from + start.Length, to - from - start.Length);
        }

        /// <summary>The children of the tests above; prints what they check.</summary>
        internal static int Child(string what)
        {
            switch (what)
            {
                case "bad-variable":
                    return BadVariableChild();
                case "no-library":
                    return LibraryChild(new Action[]
                    {
                        () => GC.KeepAlive(Lcm.Version),
                        () => Lcm.StatusName(LcmStatus.Ok),
                        () => Lcm.Configure("endpoint", "http://127.0.0.1:9/lcm"),
                        () => Lcm.SetOutcome("dn-1", Account, "1", 0, "u", "", 0),
                        () => Lcm.Flush(),
                        () => Lcm.OutboxCount(),
                        () => Lcm.SetLogHandler((level, text) => { }),
                        () => new LcmClient().Dispose(),
                    });
                case "old-library":
                    Console.Out.Write("version " + Lcm.Version + "\n");
                    return LibraryChild(new Action[] { () => Lcm.Configure("endpoint", "http://127.0.0.1:9/lcm") },
                                        new[] { "Configure" });
                default:
                    Console.Error.WriteLine("unknown child " + what);
                    return 2;
            }
        }

        private static int BadVariableChild()
        {
            try
            {
                Lcm.SetOutcome("dn-1", Account, "1", 0, "u", "", 0);
            }
            catch (LcmConfigException e)
            {
                Console.Out.Write("hint " + e.Hint + "\ndetail " + e.Detail + "\n");
            }
            Lcm.Configure("timeout_ms", "2000");
            try
            {
                Lcm.SetOutcome("dn-1", Account, "1", 0, "u", "", 0);
            }
            catch (LcmException e)
            {
                Console.Out.Write("after " + e.GetType().Name + "\n");
            }
            return 0;
        }

        private static readonly string[] LibraryCalls =
        {
            "Version", "StatusName", "Configure", "SetOutcome", "Flush", "OutboxCount", "SetLogHandler", "LcmClient",
        };

        // Prints, for each call, the exception it threw and that exception's inner one,
        // then the first one's message and search places.
        private static int LibraryChild(Action[] calls, string[] names = null)
        {
            names = names ?? LibraryCalls;
            LcmLibraryNotFoundException first = null;
            for (int i = 0; i < calls.Length; i++)
            {
                try
                {
                    calls[i]();
                    Console.Out.Write("call " + names[i] + " returned\n");
                }
                catch (Exception e)
                {
                    var inner = e.InnerException == null ? "(none)" : e.InnerException.GetType().Name;
                    Console.Out.Write("call " + names[i] + " " + e.GetType().Name + " " + inner + "\n");
                    if (first == null) first = e as LcmLibraryNotFoundException;
                }
            }
            if (first != null)
            {
                Console.Out.Write("message<" + first.Message + ">message\n");
                Console.Out.Write("places " + first.SearchPlaces.Count + "\n");
            }
            Console.Out.Flush();
            return 0;
        }
    }
}
