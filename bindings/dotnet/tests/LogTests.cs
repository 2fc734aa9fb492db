// Tests of Lcm.SetLogHandler against live lcm-sim processes. The handler is
// process-wide: each test restores stderr (null) before it returns. What only a
// whole process shows (its stderr) runs in a child: this program started again
// with ChildArgument.

using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace LcmOutcome.Tests
{
    internal static class LogTests
    {
        internal const string ChildArgument = "--log-child";

        private const string Account = "5|3|1|0|0|44|1";
        private const string Secret = "Bearer dn-log-s3cr3t-42";

        private sealed class Line
        {
            public int Level;
            public string Text;
            public override string ToString() { return Level + ": " + Text; }
        }

        private static LcmClient ClientFor(string endpoint)
        {
            var client = new LcmClient();
            client.Configure("endpoint", endpoint);
            client.Configure("proxy", "none");
            return client;
        }

        private static void Send(LcmClient client, string callId)
        {
            client.SetOutcome(callId, Account, "1", 0, "testagent", "Test comment", 0);
        }

        private static string Show(ConcurrentQueue<Line> lines)
        {
            return string.Join(" | ", lines.Select(l => l.ToString()));
        }

        internal static void LinesArriveWithTheirLevels()
        {
            var lines = new ConcurrentQueue<Line>();
            Lcm.SetLogHandler((level, text) => lines.Enqueue(new Line { Level = level, Text = text }));
            try
            {
                using (var client = ClientFor(Loopback.RefusedEndpoint()))
                {
                    client.Configure("retries", "1");
                    Assert.Throws<LcmConnectException>(() => Send(client, "dn-log-refused"), "refused call");
                }
                Assert.True(lines.Any(l => l.Level == Lcm.LogWarn), "a warn line for the retry: " + Show(lines));
                Assert.True(!lines.Any(l => l.Level == Lcm.LogInfo), "no info line at the default level: " + Show(lines));

                var traced = new ConcurrentQueue<Line>();
                using (var sim = new SimProcess())
                using (var client = ClientFor(sim.Url))
                {
                    client.Configure("auth", Secret);
                    client.Configure("log_level", "trace");
                    Lcm.SetLogHandler((level, text) => traced.Enqueue(new Line { Level = level, Text = text }));
                    Send(client, "dn-log-trace");
                }
                Assert.True(traced.Any(l => l.Level == Lcm.LogDebug), "debug lines: " + Show(traced));
                Assert.True(traced.Any(l => l.Level == Lcm.LogTrace && l.Text.Contains("Test comment")),
                            "a trace line with the body: " + Show(traced));
                Assert.True(!traced.Any(l => l.Text.StartsWith("lcm-outcome [", StringComparison.Ordinal)),
                            "lines come without the stderr prefix");
                Assert.True(!traced.Any(l => l.Text.Contains("s3cr3t")), "the auth value was logged");
            }
            finally
            {
                Lcm.SetLogHandler(null);
            }
        }

        internal static void ThrowingHandlerDoesNotBreakTheCall()
        {
            int calls = 0;
            Lcm.SetLogHandler((level, text) =>
            {
                System.Threading.Interlocked.Increment(ref calls);
                throw new InvalidOperationException("handler broke");
            });
            try
            {
                using (var sim = new SimProcess())
                using (var client = ClientFor(sim.Url))
                {
                    client.Configure("log_level", "debug");
                    Send(client, "dn-log-throws");
                    Assert.Equal(1, sim.Recorded().Count, "recorded outcomes");
                }
                using (var client = ClientFor(Loopback.RefusedEndpoint()))
                {
                    client.Configure("retries", "1");
                    Assert.Throws<LcmConnectException>(() => Send(client, "dn-log-throws-2"), "refused call");
                }
                Assert.True(calls > 0, "the handler ran");
            }
            finally
            {
                Lcm.SetLogHandler(null);
            }
        }

        internal static void SendingInsideTheHandlerIsRefused()
        {
            using (var sim = new SimProcess())
            using (var client = ClientFor(sim.Url))
            {
                client.Configure("log_level", "debug");
                // The default client reaches the sim too, so that nothing but the rule can
                // stop its call.
                Lcm.Configure("endpoint", sim.Url);
                Lcm.Configure("proxy", "none");
                var refusals = new ConcurrentQueue<LcmException>();
                var others = new ConcurrentQueue<Exception>();
                Action<Action> attempt = send =>
                {
                    try
                    {
                        send();
                    }
                    catch (LcmException e)
                    {
                        refusals.Enqueue(e);
                    }
                    catch (Exception e)
                    {
                        others.Enqueue(e);
                    }
                };
                Lcm.SetLogHandler((level, text) =>
                {
                    attempt(() => Send(client, "dn-log-inner"));
                    attempt(() => Lcm.SetOutcome("dn-log-inner-default", Account, "1", 0, "testagent", "", 0));
                });
                try
                {
                    Send(client, "dn-log-outer");
                }
                finally
                {
                    Lcm.SetLogHandler(null);
                    Lcm.Configure("endpoint", "");
                    Lcm.Configure("proxy", "");
                }
                Assert.Equal(0, others.Count, "other exceptions: " + string.Join(" | ", others));
                Assert.True(refusals.Count >= 2, "both clients' calls inside the handler were refused");
                foreach (var e in refusals)
                {
                    // The wrapper refuses as the library does (lcm_set_outcome inside its
                    // log callback): either may be the one that answers.
                    Assert.Equal(typeof(LcmInvalidArgumentException), e.GetType(), e.Message);
                    Assert.Equal(LcmStatus.InvalidArgument, e.Status, "status");
                    Assert.Contains("was called from inside a log", e.Detail, "message");
                }
                Assert.Equal("dn-log-outer", (string)sim.Recorded().Single()["callid"], "the only outcome recorded");
            }
        }

        internal static void NullRestoresStderr()
        {
            var self = Process.GetCurrentProcess().MainModule.FileName;
            var assembly = typeof(LogTests).Assembly.Location;
            var start = new ProcessStartInfo(self, "--debug \"" + assembly + "\" " + ChildArgument + " " + Loopback.RefusedEndpoint())
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using (var child = Process.Start(start))
            {
                var stdout = child.StandardOutput.ReadToEndAsync();
                var stderr = child.StandardError.ReadToEndAsync();
                Assert.True(child.WaitForExit(60000), "the child did not exit within 60 s");
                child.WaitForExit();
                Assert.Equal(0, child.ExitCode, "the child's exit status (stderr: " + stderr.Result + ")");
                // Only the child's own lines: the runtime may print notes of its own there.
                var report = stdout.Result.Replace("\r\n", "\n").Split('\n')
                    .Where(l => l.StartsWith("handler ", StringComparison.Ordinal) ||
                                l.StartsWith("managed stderr ", StringComparison.Ordinal));
                Assert.Equal("handler 1|managed stderr <>", string.Join("|", report), "the child's report");
                var warnings = stderr.Result.Split('\n').Count(l => l.StartsWith("lcm-outcome [warn] ", StringComparison.Ordinal));
                Assert.Equal(1, warnings, "warn lines on stderr: " + stderr.Result);
            }
        }

        /// <summary>
        /// The child of <see cref="NullRestoresStderr"/>: two refused calls with one retry
        /// each, the first with a handler, the second after <c>SetLogHandler(null)</c>.
        /// Console.Error is captured meanwhile: the native library's own stderr line
        /// bypasses it, a line that still went through the binding would not.
        /// </summary>
        internal static int Child(string endpoint)
        {
            int warnings = 0;
            Lcm.SetLogHandler((level, text) =>
            {
                if (level == Lcm.LogWarn) System.Threading.Interlocked.Increment(ref warnings);
            });
            using (var client = ClientFor(endpoint))
            {
                client.Configure("retries", "1");
                SendRefused(client);
                Console.Out.Write("handler " + warnings + "\n");
                Lcm.SetLogHandler(null);
                var managed = new StringWriter();
                var original = Console.Error;
                Console.SetError(managed);
                SendRefused(client);
                Console.SetError(original);
                Console.Out.Write("managed stderr <" + managed + ">\n");
                Console.Out.Flush();
            }
            return 0;
        }

        private static void SendRefused(LcmClient client)
        {
            try
            {
                Send(client, "dn-log-child");
                throw new InvalidOperationException("the refused call succeeded");
            }
            catch (LcmConnectException)
            {
            }
        }
    }
}
