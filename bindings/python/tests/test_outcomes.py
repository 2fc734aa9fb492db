"""Client.set_outcome against a live lcm-sim: what is recorded, and one test per
reachable error status, each raising its own exception class."""

from __future__ import annotations

import decimal
import unittest

import lcm_outcome
from lcm_outcome import _errors
from harness import SAMPLE, Simulator, refused_endpoint


class RecordsOutcomes(unittest.TestCase):
    def test_vendor_sample_is_recorded_as_sent(self) -> None:
        with Simulator() as sim, sim.client() as client:
            client.set_outcome(**SAMPLE)
            (record,) = sim.records()
        del record["received_at_ms"]
        self.assertEqual(
            record,
            {
                "callid": "12345",
                "AccountNumber": "5|3|1|0|0|44|1",
                "OutcomeId": 1,
                "LeadScore": 0,
                "UserID": "testagent",
                "AgentComments": "Test comment",
                "TargetAmount": 0,
                "source": "lcm-outcome",
            },
        )

    def test_positional_arguments_and_number_types(self) -> None:
        with Simulator() as sim, sim.client(source="py-dialer") as client:
            client.set_outcome("a-1", "acct", "1001", user_id="u", lead_score=7, target_amount=12.5)
            client.set_outcome(
                "a-2",
                "acct",
                "01",
                user_id="u",
                lead_score=0.25,
                target_amount=decimal.Decimal("99.50"),
            )
            client.set_outcome("a-3", "acct", -7, user_id="u")
            first, second, third = sim.records()
        self.assertEqual(
            (first["OutcomeId"], first["LeadScore"], first["TargetAmount"]), (1001, 7, 12.5)
        )
        # "01" is not a canonical integer, so it stays a string on the wire.
        self.assertEqual(
            (second["OutcomeId"], second["LeadScore"], second["TargetAmount"]), ("01", 0.25, 99.5)
        )
        self.assertEqual(third["OutcomeId"], -7)
        self.assertEqual({r["source"] for r in (first, second, third)}, {"py-dialer"})
        self.assertEqual(first["AgentComments"], "", "agent_comments defaults to empty")

    def test_unicode_text_round_trips(self) -> None:
        comments = (
            'Grüße — 日本語のコメント 🎉📞 שלום e\u0301 "quoted" \\ back\nslash\ttab'
            " \u2028\u2029\x7f"
        )
        with Simulator() as sim, sim.client() as client:
            client.set_outcome(
                "ünï-1", "Konto|Ø|1", "résultat", user_id="agent-ñ-🙂", agent_comments=comments
            )
            (record,) = sim.records()
        self.assertEqual(record["callid"], "ünï-1")
        self.assertEqual(record["AccountNumber"], "Konto|Ø|1")
        self.assertEqual(record["OutcomeId"], "résultat")
        self.assertEqual(record["UserID"], "agent-ñ-🙂")
        self.assertEqual(record["AgentComments"], comments)


class RaisesOneClassPerStatus(unittest.TestCase):
    def assertRaisesStatus(self, cls, status, name, words, call):  # type: ignore[no-untyped-def]
        with self.assertRaises(cls) as caught:
            call()
        error = caught.exception
        self.assertIs(type(error), cls)
        self.assertIsInstance(error, lcm_outcome.LcmError)
        self.assertEqual((error.status, error.status_name), (status, name))
        for word in words:
            self.assertIn(word, error.message)
        hint = "" if error.hint is None else f"; hint: {error.hint}"
        self.assertEqual(str(error), f"{name}: {error.message}{hint}")
        return error

    def test_invalid_argument_names_the_argument_and_sends_nothing(self) -> None:
        with Simulator() as sim, sim.client() as client:
            self.assertRaisesStatus(
                lcm_outcome.InvalidArgumentError,
                1,
                "LCM_ERR_INVALID_ARGUMENT",
                ["user_id is empty"],
                lambda: client.set_outcome(**{**SAMPLE, "user_id": ""}),
            )
            self.assertRaisesStatus(
                lcm_outcome.InvalidArgumentError,
                1,
                "LCM_ERR_INVALID_ARGUMENT",
                ["lead_score"],
                lambda: client.set_outcome(**SAMPLE, lead_score=float("nan")),
            )
            self.assertRaisesStatus(
                lcm_outcome.InvalidArgumentError,
                1,
                "LCM_ERR_INVALID_ARGUMENT",
                ["agent_comments"],
                lambda: client.set_outcome(**{**SAMPLE, "agent_comments": "x" * (64 * 1024 + 1)}),
            )
            self.assertEqual(sim.records(), [])

    def test_config_errors(self) -> None:
        with lcm_outcome.Client(proxy="none") as client:
            self.assertRaisesStatus(
                lcm_outcome.ConfigError,
                2,
                "LCM_ERR_CONFIG",
                ["endpoint is not set"],
                lambda: client.set_outcome(**SAMPLE),
            )
            self.assertRaisesStatus(
                lcm_outcome.ConfigError,
                2,
                "LCM_ERR_CONFIG",
                ["unknown option 'timeout'"],
                lambda: client.configure("timeout", 5),
            )
            self.assertRaisesStatus(
                lcm_outcome.ConfigError,
                2,
                "LCM_ERR_CONFIG",
                ["timeout_ms"],
                lambda: client.configure("timeout_ms", "soon"),
            )
        # A bad option given to the constructor raises there.
        self.assertRaisesStatus(
            lcm_outcome.ConfigError,
            2,
            "LCM_ERR_CONFIG",
            ["retries"],
            lambda: lcm_outcome.Client(endpoint="http://127.0.0.1:1/lcm", retries=11),
        )

    def test_connect_error_on_a_refused_port(self) -> None:
        endpoint = refused_endpoint()
        with lcm_outcome.Client(endpoint=endpoint, proxy="none", retries=0) as client:
            self.assertRaisesStatus(
                lcm_outcome.ConnectError,
                3,
                "LCM_ERR_CONNECT",
                ["cannot connect", endpoint],
                lambda: client.set_outcome(**SAMPLE),
            )

    def test_timeout_when_the_answer_is_late(self) -> None:
        # 2 s gives a loaded machine time to get the request to the sim; the answer
        # would come long after (stopping the sim cuts its wait short).
        with Simulator("--latency-ms", "60000") as sim, sim.client(timeout_ms=2000) as client:
            self.assertRaisesStatus(
                lcm_outcome.LcmTimeoutError,
                4,
                "LCM_ERR_TIMEOUT",
                ["timeout_ms (2000)"],
                lambda: client.set_outcome(**SAMPLE),
            )
            # The outcome may well be recorded: that is what this status warns about.
            # The sim writes the record when the request is in, which a sim kept from
            # a CPU may do after the call gave up.
            self.assertEqual(len(sim.wait_for_records(1)), 1)
        self.assertFalse(issubclass(lcm_outcome.LcmTimeoutError, TimeoutError))

    def test_http_status_error(self) -> None:
        with Simulator("--fail-status", "500") as sim, sim.client() as client:
            self.assertRaisesStatus(
                lcm_outcome.HttpStatusError,
                5,
                "LCM_ERR_HTTP_STATUS",
                ["500", "injected fault"],
                lambda: client.set_outcome(**SAMPLE),
            )
            self.assertEqual(sim.records(), [])

    def test_bad_response_error(self) -> None:
        with Simulator("--malformed") as sim, sim.client() as client:
            self.assertRaisesStatus(
                lcm_outcome.BadResponseError,
                6,
                "LCM_ERR_BAD_RESPONSE",
                [],
                lambda: client.set_outcome(**SAMPLE),
            )

    def test_rejected_for_an_unknown_call_id(self) -> None:
        with Simulator(known_calls=["12345"]) as sim, sim.client() as client:
            client.set_outcome(**SAMPLE)
            error = self.assertRaisesStatus(
                lcm_outcome.RejectedError,
                7,
                "LCM_ERR_REJECTED",
                ["WS_Error", "Invalid Call ID.", "Invalid Call ID:99999"],
                lambda: client.set_outcome(**{**SAMPLE, "call_id": "99999"}),
            )
            self.assertEqual([r["callid"] for r in sim.records()], ["12345"])
        self.assertNotIn("\0", error.message)
        # LCM's error object, field by field.
        self.assertEqual(
            (error.lcm_type, error.lcm_message, error.lcm_detail),
            ("WS_Error", "Invalid Call ID.", "Invalid Call ID:99999"),
        )
        self.assertIsNone(error.hint)

    def test_status_names_come_from_the_library(self) -> None:
        # The binding's table against the loaded library; tests/bindings_agree.rs
        # checks it against the header.
        library = lcm_outcome.load_library()
        for status, name in _errors._STATUS_NAMES.items():
            self.assertEqual(library.status_name(status), name)
            cls = type(lcm_outcome.error_for(status, name, "m"))
            if name.startswith("LCM_ERR_"):
                self.assertEqual((cls.status, cls.status_name), (status, name))
                self.assertIs(getattr(lcm_outcome, cls.__name__), cls, "exported")
            else:
                self.assertIs(cls, lcm_outcome.LcmError, f"{name} has no class of its own")
        # A status from a newer library still raises an LcmError, with the library's name.
        unknown = lcm_outcome.error_for(99, lcm_outcome.status_name(99), "new")
        self.assertIs(type(unknown), lcm_outcome.LcmError)
        self.assertEqual((unknown.status, unknown.status_name), (99, "LCM_UNKNOWN_STATUS"))


if __name__ == "__main__":
    unittest.main()
