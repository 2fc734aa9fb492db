// Tests of LcmOutcome.cs against live lcm-sim processes (LCM_SIM names the program),
// through the real native library. Build and run (the Rust test tests/dotnet.rs does):
//
//   mcs -out:tests.exe bindings/dotnet/LcmOutcome.cs bindings/dotnet/tests/*.cs
//   LD_LIBRARY_PATH=target/debug LCM_SIM=target/debug/lcm-sim mono tests.exe [TEST...]

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;

namespace LcmOutcome.Tests
{
    internal static class LcmOutcomeTests
    {
        private const string Account = "5|3|1|0|0|44|1";

        private static int Main(string[] args)
        {
            if (args.Length == 2 && args[0] == LogTests.ChildArgument) return LogTests.Child(args[1]);
            if (args.Length == 2 && args[0] == VocabularyTests.ChildArgument) return VocabularyTests.Child(args[1]);
            var runner = new Runner();
            runner.Add("version_and_status_names", VersionAndStatusNames);
            runner.Add("success_is_recorded", SuccessIsRecorded);
            runner.Add("default_client_records", DefaultClientRecords);
            runner.Add("invalid_arguments_send_nothing", InvalidArgumentsSendNothing);
            runner.Add("config_errors", ConfigErrors);
            runner.Add("connect_refused", ConnectRefused);
            runner.Add("timeout", Timeout);
            runner.Add("http_status", HttpStatus);
            runner.Add("bad_response", BadResponse);
            runner.Add("rejected_unknown_call_id", RejectedUnknownCallId);
            runner.Add("unicode_round_trip", UnicodeRoundTrip);
            runner.Add("parallel_calls_on_one_client", ParallelCallsOnOneClient);
            runner.Add("dispose_twice", DisposeTwice);
            runner.Add("use_after_dispose", UseAfterDispose);
            runner.Add("dispose_while_calls_run", DisposeWhileCallsRun);
            runner.Add("outbox_queued_while_down_then_flushed_once", OutboxTests.QueuedWhileDownThenFlushedOnce);
            runner.Add("outbox_confirmed_is_delivered_not_stored", OutboxTests.ConfirmedIsDeliveredNotStored);
            runner.Add("outbox_always_mode_queues_at_once", OutboxTests.AlwaysModeQueuesAtOnce);
            runner.Add("outbox_flush_without_outbox_is_config_error", OutboxTests.FlushWithoutOutboxIsConfigError);
            runner.Add("outbox_default_client_queues_and_flushes", OutboxTests.DefaultClientQueuesAndFlushes);
            runner.Add("log_lines_arrive_with_their_levels", LogTests.LinesArriveWithTheirLevels);
            runner.Add("log_handler_that_throws_does_not_break_the_call", LogTests.ThrowingHandlerDoesNotBreakTheCall);
            runner.Add("log_handler_cannot_send", LogTests.SendingInsideTheHandlerIsRefused);
            runner.Add("log_handler_null_restores_stderr", LogTests.NullRestoresStderr);
            runner.Add("hints_of_a_client", VocabularyTests.ClientHints);
            runner.Add("hints_of_the_default_client", VocabularyTests.DefaultClientHints);
            runner.Add("null_arguments_are_named_in_csharp", VocabularyTests.NullArgumentsAreNamedInCSharp);
            runner.Add("rejected_carries_lcm_fields", VocabularyTests.RejectedCarriesLcmFields);
            runner.Add("rejected_fields_read_back_from_the_message", VocabularyTests.RejectedFieldsReadBackFromTheMessage);
            runner.Add("missing_library_is_explained", VocabularyTests.MissingLibraryIsExplained);
            runner.Add("too_old_library_is_explained", VocabularyTests.TooOldLibraryIsExplained);
            return runner.Run(args);
        }

        /// <summary>A client for <paramref name="endpoint"/>, never through a proxy.</summary>
        private static LcmClient ClientFor(string endpoint)
        {
            var client = new LcmClient();
            client.Configure("endpoint", endpoint);
            client.Configure("proxy", "none");
            return client;
        }

        private static void SendSample(LcmClient client, string callId)
        {
            client.SetOutcome(callId, Account, "1", 0, "testagent", "Test comment", 0);
        }

        /// <summary>
        /// Runs <paramref name="action"/>, which must throw exception type
        /// <typeparamref name="T"/> carrying <paramref name="status"/>, its name, and
        /// every one of <paramref name="words"/> in its detail.
        /// </summary>
        internal static T ExpectFailure<T>(LcmStatus status, Action action, params string[] words)
            where T : LcmException
        {
            var e = Assert.Throws<T>(action, typeof(T).Name);
            Assert.Equal(status, e.Status, "Status");
            Assert.Equal(Lcm.StatusName(status), e.StatusName, "StatusName");
            var hint = e.Hint == null ? "" : "; hint: " + e.Hint;
            Assert.Equal(e.StatusName + ": " + e.Detail + hint, e.Message, "Message");
            foreach (var word in words) Assert.Contains(word, e.Detail, "Detail");
            return e;
        }

        private static void VersionAndStatusNames()
        {
            Assert.True(Regex.IsMatch(Lcm.Version, @"^\d+\.\d+\.\d+$"), "version " + Lcm.Version);
            string[] names =
            {
                "LCM_OK", "LCM_ERR_INVALID_ARGUMENT", "LCM_ERR_CONFIG", "LCM_ERR_CONNECT",
                "LCM_ERR_TIMEOUT", "LCM_ERR_HTTP_STATUS", "LCM_ERR_BAD_RESPONSE",
                "LCM_ERR_REJECTED", "LCM_ERR_INTERNAL", "LCM_QUEUED",
            };
            for (int i = 0; i < names.Length; i++)
                Assert.Equal(names[i], Lcm.StatusName((LcmStatus)i), "name of " + i);
            Assert.Equal("LCM_UNKNOWN_STATUS", Lcm.StatusName((LcmStatus)42), "name of 42");

            // A status a later library adds still arrives, as the base exception.
            var unknown = LcmException.For((LcmStatus)42, "new failure");
            Assert.Equal(typeof(LcmException), unknown.GetType(), "type for 42");
            Assert.Equal("LCM_UNKNOWN_STATUS: new failure", unknown.Message, "message for 42");
            Assert.Equal(typeof(LcmInternalException), LcmException.For(LcmStatus.Internal, "x").GetType(), "type for 8");
            // LCM_QUEUED is a result (LcmResult), never thrown: no class of its own.
            Assert.Equal(typeof(LcmException), LcmException.For(LcmStatus.Queued, "x").GetType(), "type for 9");
        }

        private static void SuccessIsRecorded()
        {
            using (var sim = new SimProcess())
            using (var client = ClientFor(sim.Url))
            {
                client.Configure("source", "dotnet-tests");
                client.SetOutcome("dn-ok", Account, "1", 12.5, "testagent", "Test comment", 100);
                var recorded = sim.Recorded();
                Assert.Equal(1, recorded.Count, "recorded outcomes");
                var r = recorded[0];
                Assert.Equal("dn-ok", (string)r["callid"], "callid");
                Assert.Equal(Account, (string)r["AccountNumber"], "AccountNumber");
                Assert.Equal(1.0, (double)r["OutcomeId"], "OutcomeId, sent as a number");
                Assert.Equal(12.5, (double)r["LeadScore"], "LeadScore");
                Assert.Equal("testagent", (string)r["UserID"], "UserID");
                Assert.Equal("Test comment", (string)r["AgentComments"], "AgentComments");
                Assert.Equal(100.0, (double)r["TargetAmount"], "TargetAmount");
                Assert.Equal("dotnet-tests", (string)r["source"], "source");
            }
        }

        private static void DefaultClientRecords()
        {
            using (var sim = new SimProcess())
            {
                Lcm.Configure("endpoint", sim.Url);
                Lcm.Configure("proxy", "none");
                Lcm.SetOutcome("dn-default", Account, "1", 0, "testagent", "", 0);
                var recorded = sim.Recorded();
                Assert.Equal(1, recorded.Count, "recorded outcomes");
                Assert.Equal("dn-default", (string)recorded[0]["callid"], "callid");
                Assert.Equal("", (string)recorded[0]["AgentComments"], "AgentComments");
                Assert.Equal("lcm-outcome", (string)recorded[0]["source"], "default source");

                ExpectFailure<LcmConfigException>(LcmStatus.Config,
                    () => Lcm.Configure("timeout_ms", "soon"), "timeout_ms");
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => Lcm.SetOutcome("dn-default-2", Account, "1", 0, "", "", 0), "user_id");
                Lcm.Configure("endpoint", "");
            }
        }

        private static void InvalidArgumentsSendNothing()
        {
            using (var sim = new SimProcess())
            using (var client = ClientFor(sim.Url))
            {
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => client.SetOutcome("", Account, "1", 0, "testagent", "c", 0), "call_id");
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => client.SetOutcome("dn-1", Account, "1", 0, null, "c", 0), "userId is null");
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => client.SetOutcome("dn-1", Account, "1", double.NaN, "testagent", "c", 0), "lead_score");
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => client.SetOutcome("dn-1", Account, "1", 0, "testagent", "c", double.PositiveInfinity), "target_amount");
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => client.SetOutcome("dn-1", Account, "1", 0, "testagent", new string('x', 64 * 1024 + 1), 0), "agent_comments");
                // What UTF-8 marshalling would silently change is refused by the wrapper.
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => client.SetOutcome("dn-1\0tail", Account, "1", 0, "testagent", "c", 0), "callId contains a NUL character at index 4");
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => client.SetOutcome("dn-1", Account, "1", 0, "testagent", "half \uD83D pair", 0), "agentComments is not valid Unicode");
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => client.Configure("source", "a\0b"), "value contains a NUL");
                Assert.Equal(0, sim.Recorded().Count, "outcomes recorded after invalid arguments");

                // The same client still works: a failed check leaves nothing behind.
                SendSample(client, "dn-after");
                Assert.Equal(1, sim.Recorded().Count, "outcomes recorded");
            }
        }

        private static void ConfigErrors()
        {
            using (var client = new LcmClient())
            {
                ExpectFailure<LcmConfigException>(LcmStatus.Config,
                    () => SendSample(client, "dn-1"), "endpoint");
                ExpectFailure<LcmConfigException>(LcmStatus.Config,
                    () => client.Configure("no_such_option", "1"), "no_such_option");
                ExpectFailure<LcmConfigException>(LcmStatus.Config,
                    () => client.Configure("timeout_ms", "soon"), "timeout_ms");
                ExpectFailure<LcmConfigException>(LcmStatus.Config,
                    () => client.Configure("endpoint", "ftp://127.0.0.1/lcm"), "endpoint");
                ExpectFailure<LcmInvalidArgumentException>(LcmStatus.InvalidArgument,
                    () => client.Configure(null, "1"), "key");
            }
        }

        private static void ConnectRefused()
        {
            var endpoint = Loopback.RefusedEndpoint();
            using (var client = ClientFor(endpoint))
            {
                client.Configure("retries", "0");
                ExpectFailure<LcmConnectException>(LcmStatus.Connect,
                    () => SendSample(client, "dn-1"), endpoint);
            }
        }

        private static void Timeout()
        {
            // The sim answers a minute late; the call gives up at 300 ms. (Killing the
            // sim afterwards cuts its wait short.)
            using (var sim = new SimProcess(new[] { "--latency-ms", "60000" }))
            using (var client = ClientFor(sim.Url))
            {
                client.Configure("timeout_ms", "300");
                ExpectFailure<LcmTimeoutException>(LcmStatus.Timeout, () => SendSample(client, "dn-slow"));
            }
        }

        private static void HttpStatus()
        {
            using (var sim = new SimProcess(new[] { "--fail-status", "500" }))
            using (var client = ClientFor(sim.Url))
            {
                ExpectFailure<LcmHttpStatusException>(LcmStatus.HttpStatus,
                    () => SendSample(client, "dn-1"), "500", "injected fault");
                Assert.Equal(0, sim.Recorded().Count, "outcomes recorded");
            }
        }

        private static void BadResponse()
        {
            using (var sim = new SimProcess(new[] { "--malformed" }))
            using (var client = ClientFor(sim.Url))
            {
                ExpectFailure<LcmBadResponseException>(LcmStatus.BadResponse, () => SendSample(client, "dn-1"));
            }
        }

        private static void RejectedUnknownCallId()
        {
            using (var sim = new SimProcess(null, new[] { "dn-known" }))
            using (var client = ClientFor(sim.Url))
            {
                ExpectFailure<LcmRejectedException>(LcmStatus.Rejected,
                    () => SendSample(client, "dn-unknown"), "WS_Error", "Invalid Call ID", "dn-unknown");
                SendSample(client, "dn-known");
                var recorded = sim.Recorded();
                Assert.Equal(1, recorded.Count, "recorded outcomes");
                Assert.Equal("dn-known", (string)recorded[0]["callid"], "callid");
            }
        }

        private static void UnicodeRoundTrip()
        {
            // Latin accents, CJK, right-to-left, emoji outside the BMP (surrogate pairs
            // in C#), a ZWJ sequence, quotes, a backslash and a newline.
            const string comments = "Grüße, Ça va? 日本語 שלום 😀🎉 👩‍💻 \"quoted\" back\\slash\nnext line";
            const string user = "agent-Zoë-😀";
            const string callId = "dn-ünï-😀";
            using (var sim = new SimProcess())
            using (var client = ClientFor(sim.Url))
            {
                client.SetOutcome(callId, Account, "Bientôt", 0, user, comments, 0);
                var r = sim.Recorded().Single();
                Assert.Equal(callId, (string)r["callid"], "callid");
                Assert.Equal(user, (string)r["UserID"], "UserID");
                Assert.Equal(comments, (string)r["AgentComments"], "AgentComments");
                Assert.Equal("Bientôt", (string)r["OutcomeId"], "OutcomeId, sent as a string");
            }
        }

        private static void ParallelCallsOnOneClient()
        {
            const int threads = 8, callsEach = 25;
            using (var sim = new SimProcess())
            using (var client = ClientFor(sim.Url))
            {
                var failures = new ConcurrentQueue<Exception>();
                var start = new Barrier(threads);
                var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
                {
                    start.SignalAndWait();
                    for (int i = 0; i < callsEach; i++)
                    {
                        try
                        {
                            SendSample(client, "dn-par-" + t + "-" + i);
                        }
                        catch (Exception e)
                        {
                            failures.Enqueue(e);
                        }
                    }
                })).ToList();
                workers.ForEach(w => w.Start());
                workers.ForEach(w => w.Join());

                Assert.Equal(0, failures.Count, "failed calls (first: " + failures.FirstOrDefault() + ")");
                var ids = sim.Recorded().Select(r => (string)r["callid"]).ToList();
                Assert.Equal(threads * callsEach, ids.Count, "recorded outcomes");
                var expected = from t in Enumerable.Range(0, threads)
                               from i in Enumerable.Range(0, callsEach)
                               select "dn-par-" + t + "-" + i;
                Assert.True(new HashSet<string>(ids).SetEquals(expected), "each call recorded exactly once");
            }
        }

        private static void DisposeTwice()
        {
            var client = new LcmClient();
            client.Dispose();
            Assert.True(client.NativeClientReleased, "lcm_client_free ran at the first Dispose");
            client.Dispose();
        }

        private static void UseAfterDispose()
        {
            using (var sim = new SimProcess())
            {
                var client = ClientFor(sim.Url);
                SendSample(client, "dn-before");
                client.Dispose();
                var e = Assert.Throws<ObjectDisposedException>(() => SendSample(client, "dn-after"), "SetOutcome after Dispose");
                Assert.Equal(typeof(LcmClient).FullName, e.ObjectName, "ObjectName");
                Assert.Throws<ObjectDisposedException>(() => client.Configure("retries", "1"), "Configure after Dispose");
                Assert.Equal(1, sim.Recorded().Count, "recorded outcomes");
            }
        }

        private static void DisposeWhileCallsRun()
        {
            // The sim records each outcome, then answers; the relay holds the answers
            // until released. Once every call's answer is held, all of them are inside
            // lcm_client_set_outcome, waiting: Dispose then must not free the client
            // under them; the last one to return frees it. The deadline only has to
            // outlast the test.
            const int threads = 4;
            using (var sim = new SimProcess())
            using (var relay = new HeldAnswers(sim.Url))
            {
                var client = ClientFor(relay.Url);
                client.Configure("timeout_ms", "60000");
                var failures = new ConcurrentQueue<Exception>();
                int finished = 0;
                var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
                {
                    try
                    {
                        SendSample(client, "dn-inflight-" + t);
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue(e);
                    }
                    Interlocked.Increment(ref finished);
                })).ToList();
                workers.ForEach(w => w.Start());

                relay.WaitForHeld(threads, TimeSpan.FromSeconds(30));
                client.Dispose();
                int finishedAtDispose = Volatile.Read(ref finished);
                bool releasedAtDispose = client.NativeClientReleased;
                Assert.Throws<ObjectDisposedException>(() => SendSample(client, "dn-late"), "a call started after Dispose");
                relay.Release();
                workers.ForEach(w => w.Join());

                Assert.Equal(0, finishedAtDispose, "calls finished before Dispose (the test needs them in flight)");
                Assert.True(!releasedAtDispose, "lcm_client_free ran while calls were in flight");
                Assert.True(client.NativeClientReleased, "lcm_client_free did not run after the last call");
                Assert.Equal(0, failures.Count, "failed calls (first: " + failures.FirstOrDefault() + ")");
                Assert.Equal(threads, sim.Recorded().Count, "recorded outcomes");
            }
        }
    }
}
