"""The outbox through the binding: a queued outcome is a result, not an exception;
``flush`` delivers it once LCM is back, ``outbox_count`` counts, and both raise the
library's statuses."""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
import unittest

import lcm_outcome
from lcm_outcome import _results
from harness import SAMPLE, Simulator, clean_env, refused_endpoint, run_python


class OutboxDir(unittest.TestCase):
    """Each test gets a fresh directory for its outbox file."""

    def setUp(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="lcm-outbox-py-")
        self.addCleanup(self._dir.cleanup)
        self.outbox = os.path.join(self._dir.name, "outbox.db")

    def down_client(self, **options: object) -> lcm_outcome.Client:
        """A client whose LCM is down, with an outbox and no background sender (so
        that only flush delivers, and the tests see each step)."""
        client = lcm_outcome.Client(
            endpoint=refused_endpoint(),
            proxy="none",
            retries=0,
            outbox=self.outbox,
            outbox_retry_ms=0,
            **options,  # type: ignore[arg-type]
        )
        self.addCleanup(client.close)
        return client


class QueuedWhileDown(OutboxDir):
    def test_queued_then_flushed_once_when_lcm_is_back(self) -> None:
        client = self.down_client()
        result = client.set_outcome(**SAMPLE)
        self.assertIsInstance(result, lcm_outcome.Queued)
        self.assertTrue(result.queued)
        self.assertEqual((result.status, result.entry_id), (lcm_outcome.LCM_QUEUED, 1))
        self.assertIn("cannot connect", result.message)
        self.assertEqual(client.outbox_count(), (1, 0))
        self.assertEqual(client.outbox_count().pending, 1)

        # Still down: the flush raises the delivery's status, with the counts. (A
        # short timeout: the library tries again until it runs out.)
        with self.assertRaises(lcm_outcome.ConnectError) as caught:
            client.flush(timeout_ms=1000)
        self.assertEqual(caught.exception.flush_result, (0, 1, 0))

        with Simulator() as sim:
            client.configure("endpoint", sim.url)
            flushed = client.flush(timeout_ms=5000)
            self.assertIsInstance(flushed, lcm_outcome.FlushResult)
            self.assertEqual(flushed, lcm_outcome.FlushResult(delivered=1, pending=0, dead=0))
            self.assertEqual(client.outbox_count(), (0, 0))
            self.assertEqual(client.flush(), (0, 0, 0), "nothing is delivered twice")
            records = sim.records()
        self.assertEqual([r["callid"] for r in records], [SAMPLE["call_id"]])
        self.assertEqual(records[0]["AgentComments"], SAMPLE["agent_comments"])

    def test_a_confirmed_outcome_is_delivered_and_not_stored(self) -> None:
        with Simulator() as sim, sim.client(outbox=self.outbox, outbox_retry_ms=0) as client:
            result = client.set_outcome(**SAMPLE)
            self.assertIsInstance(result, lcm_outcome.Delivered)
            self.assertEqual((result.queued, result.status, result.entry_id), (False, 0, None))
            self.assertEqual(client.outbox_count(), (0, 0))
            self.assertEqual(len(sim.records()), 1)

    def test_always_mode_queues_at_once_without_sending(self) -> None:
        with Simulator() as sim, sim.client(
            outbox=self.outbox, outbox_mode="always", outbox_retry_ms=0
        ) as client:
            result = client.set_outcome(**SAMPLE)
            self.assertIsInstance(result, lcm_outcome.Queued)
            self.assertEqual(result.entry_id, 1)
            self.assertEqual(sim.records(), [], "always mode stores; the sender delivers")
            self.assertEqual(client.flush(timeout_ms=5000), (1, 0, 0))
            self.assertEqual([r["callid"] for r in sim.records()], [SAMPLE["call_id"]])

    def test_a_backlog_is_left_to_flush_when_the_sender_is_off(self) -> None:
        with self.down_client() as client:
            self.assertTrue(client.set_outcome(**SAMPLE).queued)
        # The constructor sets outbox_retry_ms before opening the file: a file with a
        # backlog would otherwise start a sender at once, which would have delivered
        # the entry (or still hold it) by the time this client's flush runs. (The call
        # in between, which LCM confirms and which wakes such a sender, gives it time;
        # still, the wrong order fails this test often, not every time.)
        with Simulator() as sim, sim.client(outbox=self.outbox, outbox_retry_ms=0) as client:
            self.assertFalse(client.set_outcome(**{**SAMPLE, "call_id": "other"}).queued)
            self.assertEqual(client.flush(timeout_ms=5000), (1, 0, 0))
            self.assertEqual(sorted(r["callid"] for r in sim.records()), ["12345", "other"])

    def test_rejected_is_raised_and_not_stored(self) -> None:
        with Simulator(known_calls=["other"]) as sim, sim.client(outbox=self.outbox) as client:
            with self.assertRaises(lcm_outcome.RejectedError):
                client.set_outcome(**SAMPLE)
            self.assertEqual(client.outbox_count(), (0, 0))


class OutboxErrors(OutboxDir):
    def test_flush_and_count_without_an_outbox_are_config_errors(self) -> None:
        with lcm_outcome.Client(endpoint=refused_endpoint(), proxy="none") as client:
            with self.assertRaises(lcm_outcome.ConfigError) as caught:
                client.flush()
            self.assertIn("outbox", caught.exception.message)
            self.assertIsNone(caught.exception.flush_result, "nothing was tried")
            with self.assertRaises(lcm_outcome.ConfigError):
                client.outbox_count()

    def test_a_bad_outbox_path_fails_at_configuration(self) -> None:
        missing = os.path.join(self.outbox, "no-such-dir", "outbox.db")
        with self.assertRaises(lcm_outcome.ConfigError) as caught:
            lcm_outcome.Client(endpoint=refused_endpoint(), outbox=missing)
        # The library names the file (shortened when long) and the system's error.
        self.assertIn("outbox '", caught.exception.message)
        self.assertIn("No such file or directory", caught.exception.message)

    def test_flush_timeouts_are_checked(self) -> None:
        client = self.down_client()
        with self.assertRaises(TypeError):
            client.flush("5000")  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            client.flush(True)
        with self.assertRaises(lcm_outcome.InvalidArgumentError) as caught:
            client.flush(2**31)
        self.assertIn("timeout_ms", caught.exception.message)
        # A negative value is the library's to refuse, in its own words.
        with self.assertRaises(lcm_outcome.InvalidArgumentError) as caught:
            client.flush(-1)
        self.assertIn("timeout_ms is -1", caught.exception.message)

    def test_a_closed_client_refuses_flush_and_count(self) -> None:
        client = self.down_client()
        client.close()
        with self.assertRaises(lcm_outcome.ClientClosedError):
            client.flush()
        with self.assertRaises(lcm_outcome.ClientClosedError):
            client.outbox_count()


class EntryIds(unittest.TestCase):
    def test_the_id_is_read_where_the_wording_puts_it(self) -> None:
        message = (
            "queued in the outbox '/srv/entry 7/as entry 8, x' as entry 42, to be "
            "delivered later; cannot connect to entry 9"
        )
        self.assertEqual(_results.entry_id(message), 42)
        self.assertEqual(_results.entry_id("stored as outbox entry 5"), 5)
        self.assertIsNone(_results.entry_id("queued somewhere"))


DEFAULT_CLIENT = textwrap.dedent(
    """
    import json
    import lcm_outcome
    result = lcm_outcome.set_outcome("12345", "5|3|1|0|0|44|1", 1, user_id="testagent")
    count = lcm_outcome.outbox_count()
    lcm_outcome.configure("endpoint", {url!r})
    flushed = lcm_outcome.flush(timeout_ms=5000)
    print(json.dumps([type(result).__name__, result.entry_id, count, flushed,
                      lcm_outcome.outbox_count()]))
    """
)


class DefaultClientOutbox(OutboxDir):
    def test_module_functions_use_the_outbox_from_the_environment(self) -> None:
        env = clean_env(
            LCM_ENDPOINT=refused_endpoint(),
            LCM_PROXY="none",
            LCM_RETRIES="0",
            LCM_OUTBOX=self.outbox,
            LCM_OUTBOX_RETRY_MS="0",
        )
        with Simulator() as sim:
            result = run_python(DEFAULT_CLIENT.format(url=sim.url), env)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(
                json.loads(result.stdout), ["Queued", 1, [1, 0], [1, 0, 0], [0, 0]]
            )
            self.assertEqual(len(sim.records()), 1)

    def test_module_flush_without_an_outbox_is_a_config_error(self) -> None:
        code = textwrap.dedent(
            """
            import lcm_outcome
            for call in (lcm_outcome.flush, lcm_outcome.outbox_count):
                try:
                    call()
                except lcm_outcome.ConfigError as e:
                    print(e.status_name)
            """
        )
        result = run_python(code, clean_env())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "LCM_ERR_CONFIG\nLCM_ERR_CONFIG\n")


if __name__ == "__main__":
    unittest.main()
