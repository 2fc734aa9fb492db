"""Client from many threads, and close(): idempotent, safe while calls are in
flight, and a clear error afterwards."""

from __future__ import annotations

import collections
import threading
import unittest
from typing import Dict, List

import lcm_outcome
from harness import SAMPLE, HeldAnswers, Simulator, poll


class CloseAndReuse(unittest.TestCase):
    def test_close_twice_and_use_after_close(self) -> None:
        client = lcm_outcome.Client(endpoint="http://127.0.0.1:1/lcm")
        self.assertFalse(client.closed)
        self.assertIn("open", repr(client))
        client.close()
        client.close()
        self.assertTrue(client.closed)
        self.assertIn("closed", repr(client))
        self.assertFalse(client._free.alive, "closing an idle client frees it at once")
        for call in (lambda: client.set_outcome(**SAMPLE), lambda: client.configure("retries", 0)):
            with self.assertRaises(lcm_outcome.ClientClosedError) as caught:
                call()
            error = caught.exception
            self.assertIsInstance(error, lcm_outcome.InvalidArgumentError)
            self.assertEqual(str(error), "LCM_ERR_INVALID_ARGUMENT: the client is closed")

    def test_with_block_closes(self) -> None:
        with Simulator() as sim:
            with sim.client() as client:
                client.set_outcome(**SAMPLE)
            self.assertTrue(client.closed)
            with self.assertRaises(lcm_outcome.ClientClosedError):
                client.set_outcome(**SAMPLE)
            self.assertEqual(len(sim.records()), 1)

    def test_a_client_on_an_explicit_library(self) -> None:
        library = lcm_outcome.load_library()
        with lcm_outcome.Client(library=library.path) as client:
            self.assertEqual(client.library.version(), library.version())
        with self.assertRaises(lcm_outcome.LibraryNotFoundError):
            lcm_outcome.Client(library="/nonexistent/liblcm_outcome.so")

    def test_close_while_calls_are_in_flight(self) -> None:
        in_flight = 4
        # The sim records each outcome, then answers; the relay holds the answers until
        # released. While all are held and no call has returned, every call is inside
        # the C library at once. That also proves the binding holds neither the GIL nor
        # a lock of its own during a call. The deadline only has to outlast the test.
        with Simulator() as sim, HeldAnswers(sim) as relay:
            client = lcm_outcome.Client(endpoint=relay.url, proxy="none", timeout_ms=60_000)
            returned: Dict[int, object] = {}

            def call(i: int) -> None:
                try:
                    client.set_outcome(**{**SAMPLE, "call_id": f"in-flight-{i}"})
                    returned[i] = "ok"
                except Exception as e:  # reported by the assertion below
                    returned[i] = e

            threads = [threading.Thread(target=call, args=(i,)) for i in range(in_flight)]
            for t in threads:
                t.start()
            relay.wait_for_held(in_flight)
            self.assertEqual(returned, {}, "a call returned before all had reached the server")

            client.close()
            self.assertTrue(client.closed)
            self.assertTrue(client._free.alive, "freed while calls were running")
            with self.assertRaises(lcm_outcome.ClientClosedError):
                client.set_outcome(**SAMPLE)

            relay.release()
            for t in threads:
                t.join(timeout=30)
                self.assertFalse(t.is_alive())
            self.assertEqual(returned, {i: "ok" for i in range(in_flight)})
            self.assertFalse(client._free.alive, "the last call to return frees the client")
            self.assertEqual(len(sim.records()), in_flight)


class ManyThreads(unittest.TestCase):
    THREADS = 16
    CALLS = 20

    def test_every_call_from_every_thread_is_recorded_exactly_once(self) -> None:
        with Simulator() as sim, sim.client() as client:
            start = threading.Barrier(self.THREADS)
            failures: List[BaseException] = []

            def worker(t: int) -> None:
                start.wait(timeout=30)
                for i in range(self.CALLS):
                    try:
                        client.set_outcome(
                            f"t{t}-c{i}",
                            "acct",
                            i,
                            user_id=f"agent-{t}",
                            agent_comments=f"thread {t} call {i}",
                        )
                    except BaseException as e:
                        failures.append(e)

            threads = [threading.Thread(target=worker, args=(t,)) for t in range(self.THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
                self.assertFalse(t.is_alive())
            self.assertEqual(failures, [])
            records = sim.records()

        expected = {f"t{t}-c{i}" for t in range(self.THREADS) for i in range(self.CALLS)}
        counts = collections.Counter(r["callid"] for r in records)
        self.assertEqual(set(counts), expected)
        self.assertEqual(max(counts.values()), 1, "an outcome was recorded twice")
        for r in records:
            t, i = r["callid"][1:].split("-c")
            self.assertEqual((r["UserID"], r["OutcomeId"]), (f"agent-{t}", int(i)))
            self.assertEqual(r["AgentComments"], f"thread {t} call {i}")

    def test_configure_while_other_threads_send(self) -> None:
        with Simulator() as sim, sim.client() as client:
            stop = threading.Event()
            failures: List[BaseException] = []

            def sender(t: int) -> None:
                i = 0
                while not stop.is_set():
                    try:
                        client.set_outcome(f"s{t}-{i}", "acct", 1, user_id="u")
                    except BaseException as e:
                        failures.append(e)
                        return
                    i += 1

            threads = [threading.Thread(target=sender, args=(t,)) for t in range(4)]
            for t in threads:
                t.start()
            sources = [f"source-{n}" for n in range(50)]
            try:
                for source in sources:
                    client.configure("source", source)
                    client.configure("timeout_ms", 5000)
                # Senders that fail or stall would leave this wait to its deadline.
                poll(lambda: len(sim.records()) >= 20 or failures, "20 outcomes while configuring")
            finally:
                stop.set()
                for t in threads:
                    t.join(timeout=30)
            self.assertEqual(failures, [])
            seen = {r["source"] for r in sim.records()}
            self.assertTrue(seen <= set(sources) | {"lcm-outcome"}, seen)


if __name__ == "__main__":
    unittest.main()
