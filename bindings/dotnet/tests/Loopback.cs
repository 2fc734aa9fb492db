// Loopback helpers that take timing out of the tests: an endpoint that refuses
// connections for the whole run, and a relay that holds a simulator's answers until
// the test lets them through.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace LcmOutcome.Tests
{
    internal static class Loopback
    {
        private static readonly object Gate = new object();

        // Bound for the life of the process, never listening: see RefusedEndpoint.
        private static Socket refused;

        /// <summary>
        /// An endpoint that refuses connections: a loopback port that this process keeps
        /// bound, but never listens on, for as long as it runs. Linux answers a connection
        /// to such a socket with a reset, as to a closed port, and no other test's server
        /// can be given the port meanwhile (a port bound and released at once could be).
        /// </summary>
        internal static string RefusedEndpoint()
        {
            lock (Gate)
            {
                if (refused == null)
                {
                    refused = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    refused.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                }
                return "http://127.0.0.1:" + ((IPEndPoint)refused.LocalEndPoint).Port + "/lcm";
            }
        }
    }

    /// <summary>
    /// A TCP relay in front of a simulator that passes requests on at once and holds
    /// every answer until <see cref="Release"/>. The simulator records an outcome before
    /// it answers, so once an answer has reached the relay the outcome is recorded and
    /// the call that sent it waits inside the library, for as long as the test needs:
    /// no latency that a slow machine could outrun.
    /// </summary>
    internal sealed class HeldAnswers : IDisposable
    {
        private readonly IPEndPoint upstream;
        private readonly TcpListener listener;
        private readonly ManualResetEvent released = new ManualResetEvent(false);
        private readonly object gate = new object();
        private readonly List<Socket> sockets = new List<Socket>();
        private int held;

        /// <summary>The endpoint to call, <c>http://127.0.0.1:PORT/lcm</c>.</summary>
        public string Url { get; private set; }

        public HeldAnswers(string simUrl)
        {
            var uri = new Uri(simUrl);
            upstream = new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
            listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            Url = "http://127.0.0.1:" + ((IPEndPoint)listener.LocalEndpoint).Port + "/lcm";
            Background(Accept);
        }

        private static void Background(ThreadStart body)
        {
            new Thread(body) { IsBackground = true }.Start();
        }

        private void Accept()
        {
            while (true)
            {
                Socket client, server;
                try
                {
                    client = listener.AcceptSocket();
                    server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    server.Connect(upstream);
                }
                catch (Exception e)
                {
                    if (e is SocketException || e is ObjectDisposedException || e is InvalidOperationException)
                        return; // stopped
                    throw;
                }
                lock (gate)
                {
                    sockets.Add(client);
                    sockets.Add(server);
                }
                Background(() => Pump(client, server, false));
                Background(() => Pump(server, client, true));
            }
        }

        private void Pump(Socket source, Socket sink, bool hold)
        {
            var buffer = new byte[65536];
            try
            {
                while (true)
                {
                    int n = source.Receive(buffer);
                    if (n == 0)
                    {
                        sink.Shutdown(SocketShutdown.Send);
                        return;
                    }
                    if (hold && !released.WaitOne(0))
                    {
                        lock (gate)
                        {
                            held++;
                            Monitor.PulseAll(gate);
                        }
                        released.WaitOne();
                    }
                    hold = false;
                    for (int sent = 0; sent < n; )
                        sent += sink.Send(buffer, sent, n - sent, SocketFlags.None);
                }
            }
            catch (SocketException)
            {
                // A side closed: the other one sees it.
            }
            catch (ObjectDisposedException)
            {
            }
        }

        /// <summary>Blocks until <paramref name="count"/> answers are held.</summary>
        public void WaitForHeld(int count, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            lock (gate)
            {
                while (held < count)
                {
                    var left = timeout - clock.Elapsed;
                    Assert.True(left > TimeSpan.Zero,
                        held + " of " + count + " answers held after " + timeout.TotalSeconds + " s");
                    Monitor.Wait(gate, left);
                }
            }
        }

        /// <summary>Lets every answer, held or still to come, through.</summary>
        public void Release()
        {
            released.Set();
        }

        public void Dispose()
        {
            Release();
            listener.Stop();
            Socket[] open;
            lock (gate)
            {
                open = sockets.ToArray();
                sockets.Clear();
            }
            foreach (var socket in open)
            {
                socket.Close();
            }
        }
    }
}
