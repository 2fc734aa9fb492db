// Tests of the outbox through LcmOutcome.cs, against live lcm-sim processes: a queued
// outcome is a result, not an exception; Flush delivers it once LCM is back; Flush and
// OutboxCount throw the library's statuses.

using System;
using System.IO;
using System.Net;
using System.Net.Sockets;

namespace LcmOutcome.Tests
{
    internal static class OutboxTests
    {
        private const string Account = "5|3|1|0|0|44|1";

        /// <summary>A fresh directory for one test's outbox file, removed afterwards.</summary>
        private sealed class TempDir : IDisposable
        {
            public readonly string Path;

            public TempDir()
            {
                Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lcm-dotnet-outbox-" + Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(Path);
            }

            public string Outbox
            {
                get { return System.IO.Path.Combine(Path, "outbox.db"); }
            }

            public void Dispose()
            {
                Directory.Delete(Path, true);
            }
        }

        private static string RefusedEndpoint()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return "http://127.0.0.1:" + port + "/lcm";
        }

        /// <summary>
        /// A client for <paramref name="endpoint"/> with an outbox and no background sender,
        /// so that only Flush delivers and the test sees each step.
        /// </summary>
        private static LcmClient OutboxClient(string endpoint, string outbox)
        {
            var client = new LcmClient();
            client.Configure("endpoint", endpoint);
            client.Configure("proxy", "none");
            client.Configure("retries", "0");
            // Before the file: one with a backlog starts the sender at once.
            client.Configure("outbox_retry_ms", "0");
            client.Configure("outbox", outbox);
            return client;
        }

        private static LcmResult Send(LcmClient client, string callId)
        {
            return client.SetOutcome(callId, Account, "1", 0, "testagent", "Test comment", 0);
        }

        private static void AssertCounts(long delivered, long pending, long dead, LcmFlushResult counts, string what)
        {
            Assert.True(counts != null, what + ": no counts");
            Assert.Equal(delivered + "/" + pending + "/" + dead,
                         counts.Delivered + "/" + counts.Pending + "/" + counts.Dead, what);
        }

        internal static void QueuedWhileDownThenFlushedOnce()
        {
            using (var dir = new TempDir())
            using (var client = OutboxClient(RefusedEndpoint(), dir.Outbox))
            {
                var result = Send(client, "dn-q-1");
                Assert.Equal(LcmStatus.Queued, result.Status, "Status");
                Assert.True(result.Queued, "Queued");
                Assert.Equal((long?)1, result.EntryId, "EntryId");
                Assert.Contains("cannot connect", result.Message, "Message");
                Assert.Equal("LCM_QUEUED: " + result.Message, result.ToString(), "ToString");
                var count = client.OutboxCount();
                Assert.Equal("1/0", count.Pending + "/" + count.Dead, "count while down");

                // Still down: Flush throws the delivery's status, with the counts. (A short
                // timeout: the library tries again until it runs out.)
                var e = Assert.Throws<LcmConnectException>(() => client.Flush(1000), "flush while down");
                AssertCounts(0, 1, 0, e.FlushResult, "counts of the failed flush");

                using (var sim = new SimProcess())
                {
                    client.Configure("endpoint", sim.Url);
                    AssertCounts(1, 0, 0, client.Flush(5000), "flush when LCM is back");
                    AssertCounts(0, 0, 0, client.Flush(), "a second flush");
                    var recorded = sim.Recorded();
                    Assert.Equal(1, recorded.Count, "recorded once");
                    Assert.Equal("dn-q-1", (string)recorded[0]["callid"], "callid");
                }
                Assert.Equal(0L, client.OutboxCount().Pending, "pending afterwards");
            }
        }

        internal static void ConfirmedIsDeliveredNotStored()
        {
            using (var dir = new TempDir())
            using (var sim = new SimProcess())
            using (var client = OutboxClient(sim.Url, dir.Outbox))
            {
                var result = Send(client, "dn-q-ok");
                Assert.Equal(LcmStatus.Ok, result.Status, "Status");
                Assert.True(!result.Queued && result.EntryId == null && result.Message == "", "delivered: " + result);
                Assert.Equal(0L, client.OutboxCount().Pending, "pending");
                Assert.Equal(1, sim.Recorded().Count, "recorded");
            }
        }

        internal static void AlwaysModeQueuesAtOnce()
        {
            using (var dir = new TempDir())
            using (var sim = new SimProcess())
            using (var client = OutboxClient(sim.Url, dir.Outbox))
            {
                client.Configure("outbox_mode", "always");
                var result = Send(client, "dn-q-always");
                Assert.True(result.Queued, "queued in always mode: " + result);
                Assert.Equal((long?)1, result.EntryId, "EntryId");
                Assert.Equal(0, sim.Recorded().Count, "nothing sent by SetOutcome");
                AssertCounts(1, 0, 0, client.Flush(5000), "flush");
                Assert.Equal(1, sim.Recorded().Count, "recorded after the flush");
            }
        }

        internal static void FlushWithoutOutboxIsConfigError()
        {
            using (var client = new LcmClient())
            {
                client.Configure("endpoint", RefusedEndpoint());
                var e = Assert.Throws<LcmConfigException>(() => client.Flush(), "Flush without outbox");
                Assert.Contains("outbox", e.Detail, "Detail");
                Assert.True(e.FlushResult == null, "no counts when nothing was tried");
                Assert.Throws<LcmConfigException>(() => client.OutboxCount(), "OutboxCount without outbox");
                Assert.Throws<LcmInvalidArgumentException>(() => client.Flush(-1), "negative timeout");
            }
            Assert.Throws<LcmConfigException>(() => Lcm.Flush(), "Lcm.Flush without outbox");
            Assert.Throws<LcmConfigException>(() => Lcm.OutboxCount(), "Lcm.OutboxCount without outbox");
        }

        internal static void DefaultClientQueuesAndFlushes()
        {
            using (var dir = new TempDir())
            {
                Lcm.Configure("endpoint", RefusedEndpoint());
                Lcm.Configure("proxy", "none");
                Lcm.Configure("retries", "0");
                Lcm.Configure("outbox_retry_ms", "0");
                Lcm.Configure("outbox", dir.Outbox);
                try
                {
                    var result = Lcm.SetOutcome("dn-q-default", Account, "1", 0, "testagent", "", 0);
                    Assert.True(result.Queued, "queued: " + result);
                    Assert.Equal(1L, Lcm.OutboxCount().Pending, "pending");
                    using (var sim = new SimProcess())
                    {
                        Lcm.Configure("endpoint", sim.Url);
                        AssertCounts(1, 0, 0, Lcm.Flush(5000), "Lcm.Flush");
                        Assert.Equal(1, sim.Recorded().Count, "recorded");
                    }
                }
                finally
                {
                    foreach (var key in new[] { "outbox", "outbox_retry_ms", "retries", "endpoint" })
                        Lcm.Configure(key, "");
                }
            }
        }
    }
}
