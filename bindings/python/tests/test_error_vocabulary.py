"""Errors in Python's terms: a ConfigError that names an option says how to set it
from Python (for a Client, and for the default client), never with C syntax; a
RejectedError carries LCM's error type, message and detail as attributes.

The default client reads LCM_<KEY> variables at its first use, so its cases run in
fresh interpreters."""

from __future__ import annotations

import json
import textwrap
import unittest
from typing import Any, Dict, List

import lcm_outcome
from harness import SAMPLE, Simulator, clean_env, refused_endpoint, run_python

CLIENT_ENDPOINT_HINT = (
    "pass endpoint=... to lcm_outcome.Client() or call client.configure('endpoint', ...)"
    " (a Client does not read LCM_ENDPOINT)"
)


class ConfigHints(unittest.TestCase):
    def assertSpeaksPython(self, error: lcm_outcome.LcmError) -> None:
        text = str(error)
        for c_word in ("lcm_configure", "lcm_client_configure", "NULL"):
            self.assertNotIn(c_word, text)
        if error.hint is not None:
            self.assertEqual(text, f"{error.status_name}: {error.message}; hint: {error.hint}")

    def test_a_client_without_endpoint_says_how_to_give_it_one(self) -> None:
        with lcm_outcome.Client(proxy="none") as client:
            with self.assertRaises(lcm_outcome.ConfigError) as caught:
                client.set_outcome(**SAMPLE)
        error = caught.exception
        self.assertTrue(error.message.startswith("endpoint is not set: configure the 'endpoint'"))
        self.assertEqual(error.hint, CLIENT_ENDPOINT_HINT)
        self.assertSpeaksPython(error)

    def test_a_client_without_outbox_says_how_to_give_it_one(self) -> None:
        with lcm_outcome.Client(endpoint=refused_endpoint(), proxy="none") as client:
            for call in (client.flush, client.outbox_count):
                with self.subTest(call=call.__name__):
                    with self.assertRaises(lcm_outcome.ConfigError) as caught:
                        call()
                    self.assertEqual(
                        caught.exception.hint,
                        "pass outbox=... to lcm_outcome.Client() or call "
                        "client.configure('outbox', ...)",
                    )
                    self.assertSpeaksPython(caught.exception)

    def test_errors_of_configure_itself_need_no_hint(self) -> None:
        # The caller has just named the option: the message alone says what is wrong.
        with lcm_outcome.Client() as client:
            for key, value in (("timeout_ms", "soon"), ("endpont", "http://127.0.0.1/")):
                with self.subTest(key=key):
                    with self.assertRaises(lcm_outcome.ConfigError) as caught:
                        client.configure(key, value)
                    self.assertIsNone(caught.exception.hint)
                    self.assertEqual(
                        str(caught.exception), f"LCM_ERR_CONFIG: {caught.exception.message}"
                    )

    def default_client_errors(self, code: str, **env: str) -> List[Dict[str, Any]]:
        program = textwrap.dedent(
            """
            import json, lcm_outcome
            SAMPLE = dict(call_id="1", account_number="a", outcome_id=1, user_id="u")
            def report(call):
                try:
                    call()
                    print(json.dumps(None))
                except lcm_outcome.LcmError as e:
                    print(json.dumps({"type": type(e).__name__, "message": e.message,
                                      "hint": e.hint, "str": str(e)}))
            """
        ) + textwrap.dedent(code)
        result = run_python(program, clean_env(LCM_PROXY="none", **env))
        self.assertEqual(result.returncode, 0, result.stderr)
        return [json.loads(line) for line in result.stdout.splitlines()]

    def test_the_default_client_without_endpoint(self) -> None:
        (error,) = self.default_client_errors("report(lambda: lcm_outcome.set_outcome(**SAMPLE))")
        self.assertEqual(error["type"], "ConfigError")
        self.assertIn("endpoint is not set", error["message"])
        self.assertEqual(
            error["hint"], "call lcm_outcome.configure('endpoint', ...) or set LCM_ENDPOINT"
        )
        self.assertTrue(error["str"].endswith("; hint: " + error["hint"]), error["str"])
        self.assertNotIn("lcm_configure", error["str"])

    def test_the_default_client_with_a_bad_variable(self) -> None:
        errors = self.default_client_errors(
            """
            report(lambda: lcm_outcome.set_outcome(**SAMPLE))
            lcm_outcome.configure("timeout_ms", 2000)
            report(lambda: lcm_outcome.set_outcome(**SAMPLE))
            """,
            LCM_TIMEOUT_MS="soon",
            LCM_ENDPOINT=refused_endpoint(),
            LCM_RETRIES="0",
        )
        bad_variable, after_configure = errors
        self.assertTrue(bad_variable["message"].startswith("environment variable LCM_TIMEOUT_MS"))
        self.assertTrue(
            bad_variable["message"].endswith("or configure the 'timeout_ms' option"),
            bad_variable["message"],
        )
        # The message already says to fix the variable: the hint adds the Python way.
        self.assertEqual(bad_variable["hint"], "call lcm_outcome.configure('timeout_ms', ...)")
        # Following the hint clears the error; what remains is the refused endpoint.
        self.assertEqual(after_configure["type"], "ConnectError")
        self.assertIsNone(after_configure["hint"])

    def test_the_default_client_without_outbox(self) -> None:
        errors = self.default_client_errors(
            """
            report(lcm_outcome.flush)
            report(lcm_outcome.outbox_count)
            """
        )
        for error in errors:
            self.assertEqual(
                error["hint"], "call lcm_outcome.configure('outbox', ...) or set LCM_OUTBOX"
            )
        self.assertEqual(len(errors), 2)


class RejectedFields(unittest.TestCase):
    def rejected(self, *sim_args: str, **changes: Any) -> lcm_outcome.RejectedError:
        with Simulator(*sim_args) as sim, sim.client() as client:
            with self.assertRaises(lcm_outcome.RejectedError) as caught:
                client.set_outcome(**{**SAMPLE, **changes})
        return caught.exception

    def assertFields(self, error: lcm_outcome.RejectedError, detail: Any) -> None:
        self.assertEqual(
            (error.lcm_type, error.lcm_message, error.lcm_detail),
            ("WS_Error", "Invalid Call ID.", detail),
        )

    def test_a_long_detail_is_cut_as_the_message_shows_it(self) -> None:
        # The sim echoes the comments into the detail; the library masks them
        # (personal data) and cuts the value at 80 bytes.
        error = self.rejected("--rejected-detail", "agent-comments", agent_comments="x" * 200)
        detail = error.lcm_detail
        assert detail is not None
        self.assertTrue(detail.startswith("AgentComments: "), detail)
        self.assertTrue(detail.endswith("..."), detail)
        self.assertLessEqual(len(detail[: -len("...")].encode("utf-8")), 80)
        self.assertFields(error, detail)

    def test_control_characters_arrive_escaped(self) -> None:
        error = self.rejected("--rejected-detail", "control-chars")
        detail = error.lcm_detail
        assert detail is not None
        self.assertTrue(detail.startswith("cr:\\r lf:\\n esc:\\x1b[31m"), detail)
        self.assertTrue(all(c.isprintable() for c in detail), repr(detail))
        self.assertFields(error, detail)

    def test_no_error_object_leaves_the_fields_none(self) -> None:
        error = self.rejected("--answer-variant", "rejected-without-error")
        self.assertIn("without an error object", error.message)
        self.assertEqual((error.lcm_type, error.lcm_message, error.lcm_detail), (None, None, None))

    def test_reading_the_fields_back_from_the_message(self) -> None:
        # What the library writes for other answers than the sim's: LCM may send only
        # some fields, and their values may hold quotes and the separators.
        prefix = "LCM rejected the outcome (success: false): "
        cases = [
            ('detail "d"', (None, None, "d")),
            ('type "T", detail "d"', ("T", None, "d")),
            ('message "m"', (None, "m", None)),
            ('type "T", message "m"', ("T", "m", None)),
            (
                'type "WS_Error", message "say "no", please", detail "he said "x", detail "y""',
                ("WS_Error", 'say "no", please', 'he said "x", detail "y"'),
            ),
            ('type "a"b", message "m"', ('a"b', "m", None)),
        ]
        for text, fields in cases:
            with self.subTest(text=text):
                error = lcm_outcome.error_for(7, "LCM_ERR_REJECTED", prefix + text)
                assert isinstance(error, lcm_outcome.RejectedError)
                self.assertEqual((error.lcm_type, error.lcm_message, error.lcm_detail), fields)
        reworded = lcm_outcome.RejectedError("LCM said no")
        self.assertEqual(
            (reworded.lcm_type, reworded.lcm_message, reworded.lcm_detail), (None, None, None)
        )

if __name__ == "__main__":
    unittest.main()
