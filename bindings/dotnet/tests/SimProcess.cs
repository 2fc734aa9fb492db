// A live lcm-sim process on loopback, started from the program named by the LCM_SIM
// environment variable, as an integrator testing a dialer would run it.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace LcmOutcome.Tests
{
    internal sealed class SimProcess : IDisposable
    {
        private const string Banner = "lcm-sim listening on ";

        // Every sim still running, killed at process exit too: a test that throws past
        // its using block, or an Environment.Exit, must not leave servers behind.
        private static readonly HashSet<SimProcess> Running = new HashSet<SimProcess>();

        static SimProcess()
        {
            AppDomain.CurrentDomain.ProcessExit += (sender, args) =>
            {
                SimProcess[] left;
                lock (Running) left = Running.ToArray();
                foreach (var sim in left) sim.Dispose();
            };
        }

        private readonly Process process;
        private readonly string directory;

        /// <summary>The endpoint, <c>http://127.0.0.1:PORT/lcm</c>, as the sim printed it.</summary>
        public string Url { get; private set; }

        /// <summary>The <c>--record</c> file: one JSON line per accepted outcome.</summary>
        public string RecordFile { get; private set; }

        /// <summary>
        /// Starts <c>$LCM_SIM --listen 127.0.0.1:0 --record FILE</c> plus
        /// <paramref name="options"/>, and waits for its banner. <paramref name="knownCalls"/>,
        /// when given, go into a <c>--calls</c> file.
        /// </summary>
        public SimProcess(string[] options = null, string[] knownCalls = null)
        {
            var program = Environment.GetEnvironmentVariable("LCM_SIM");
            if (string.IsNullOrEmpty(program))
                throw new InvalidOperationException("LCM_SIM must name the lcm-sim program");
            directory = Path.Combine(Path.GetTempPath(), "lcm-dotnet-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            RecordFile = Path.Combine(directory, "record.jsonl");
            var arguments = new List<string> { "--listen", "127.0.0.1:0", "--record", RecordFile };
            if (knownCalls != null)
            {
                var callsFile = Path.Combine(directory, "calls.txt");
                File.WriteAllLines(callsFile, knownCalls);
                arguments.Add("--calls");
                arguments.Add(callsFile);
            }
            if (options != null) arguments.AddRange(options);

            var start = new ProcessStartInfo(program, string.Join(" ", arguments.Select(Quote)))
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                // Left to the terminal: the sim writes nothing there unless it fails, and
                // then its words belong in the test log.
                RedirectStandardError = false,
            };
            process = Process.Start(start);
            lock (Running) Running.Add(this);
            try
            {
                Url = ReadBanner();
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        private string ReadBanner()
        {
            var line = process.StandardOutput.ReadLineAsync();
            if (!line.Wait(TimeSpan.FromSeconds(30)))
                throw new TimeoutException("lcm-sim printed no banner within 30 s");
            if (line.Result == null || !line.Result.StartsWith(Banner, StringComparison.Ordinal))
                throw new InvalidOperationException("lcm-sim did not start: " + (line.Result ?? "(no output)"));
            return line.Result.Substring(Banner.Length).Trim();
        }

        /// <summary>The accepted outcomes so far, each line parsed.</summary>
        public List<Dictionary<string, object>> Recorded()
        {
            // The sim writes each line whole and flushes it before it answers, so after
            // a call has returned its line is complete.
            return File.ReadAllLines(RecordFile)
                .Where(line => line.Length > 0)
                .Select(line => (Dictionary<string, object>)MiniJson.Parse(line))
                .ToList();
        }

        public void Dispose()
        {
            lock (Running)
            {
                if (!Running.Remove(this)) return;
            }
            try
            {
                if (!process.HasExited) process.Kill();
                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // It exited between the check and the kill.
            }
            process.Dispose();
            try
            {
                Directory.Delete(directory, true);
            }
            catch (IOException)
            {
                // A leftover temporary directory is no reason to fail a test.
            }
        }

        // Paths from the environment may hold spaces; ProcessStartInfo takes one string.
        private static string Quote(string argument)
        {
            if (argument.Length > 0 && argument.IndexOfAny(new[] { ' ', '"', '\t' }) < 0) return argument;
            return "\"" + argument.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        }
    }
}
