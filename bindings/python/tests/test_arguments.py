"""Python-side argument problems raise TypeError or InvalidArgumentError before
anything reaches the C library, and never crash the interpreter.

The client points at a refused port with no retries: an argument that slipped
through would raise ConnectError instead, and the test would fail."""

from __future__ import annotations

import pickle
import unittest

import lcm_outcome
from harness import SAMPLE, refused_endpoint


class ArgumentChecks(unittest.TestCase):
    def setUp(self) -> None:
        self.client = lcm_outcome.Client(endpoint=refused_endpoint(), proxy="none", retries=0)
        self.addCleanup(self.client.close)

    def send(self, **changes: object) -> None:
        self.client.set_outcome(**{**SAMPLE, **changes})  # type: ignore[arg-type]

    def test_wrong_types_raise_type_error_naming_the_argument(self) -> None:
        cases = [
            ("call_id", 12345, "call_id must be str, not int"),
            ("account_number", b"5|3", "account_number must be str, not bytes"),
            ("outcome_id", 1.0, "outcome_id must be str or int, not float"),
            ("outcome_id", True, "outcome_id must be str or int, not bool"),
            ("lead_score", "0", "lead_score must be a number, not str"),
            ("target_amount", False, "target_amount must be a number, not bool"),
        ]
        for name, value, message in cases:
            with self.subTest(name=name, value=value):
                with self.assertRaises(TypeError) as caught:
                    self.send(**{name: value})
                self.assertNotIsInstance(caught.exception, lcm_outcome.LcmError)
                self.assertEqual(str(caught.exception), message)

    def test_none_is_named_as_none_not_as_a_c_null(self) -> None:
        cases = [
            ("call_id", "call_id is None; it must be str"),
            ("account_number", "account_number is None; it must be str"),
            ("user_id", "user_id is None; it must be str"),
            ("agent_comments", "agent_comments is None; it must be str"),
            ("outcome_id", "outcome_id is None; it must be str or int"),
            ("lead_score", "lead_score is None; it must be a number"),
            ("target_amount", "target_amount is None; it must be a number"),
        ]
        for name, message in cases:
            with self.subTest(name=name):
                with self.assertRaises(TypeError) as caught:
                    self.send(**{name: None})
                self.assertEqual(str(caught.exception), message)
                # The default client checks the same way, before the library is called.
                with self.assertRaises(TypeError) as caught:
                    lcm_outcome.set_outcome(**{**SAMPLE, name: None})
                self.assertEqual(str(caught.exception), message)

    def test_none_in_configure_and_flush(self) -> None:
        for configure in (self.client.configure, lcm_outcome.configure):
            with self.subTest(configure=configure):
                with self.assertRaises(TypeError) as caught:
                    configure("source", None)  # type: ignore[arg-type]
                self.assertEqual(
                    str(caught.exception),
                    "the value of option 'source' is None; it must be str or int "
                    '("" restores the default)',
                )
                with self.assertRaises(TypeError) as caught:
                    configure(None, "x")  # type: ignore[arg-type]
                self.assertEqual(str(caught.exception), "key is None; it must be str")
        with self.assertRaises(TypeError) as caught:
            self.client.flush(None)  # type: ignore[arg-type]
        self.assertEqual(str(caught.exception), "timeout_ms is None; it must be int")

    def test_user_id_is_a_required_keyword(self) -> None:
        with self.assertRaises(TypeError):
            self.client.set_outcome("12345", "acct", 1)  # type: ignore[call-arg]
        with self.assertRaises(TypeError):
            lcm_outcome.set_outcome("12345", "acct", 1)  # type: ignore[call-arg]

    def test_text_c_cannot_carry_is_an_invalid_argument(self) -> None:
        cases = [
            ("call_id", "123\x0045", "call_id contains a NUL character"),
            ("agent_comments", "ok\x00", "agent_comments contains a NUL character"),
            ("outcome_id", "\x00", "outcome_id contains a NUL character"),
            (
                "user_id",
                "agent\udc80",
                "user_id is not valid Unicode text (surrogates not allowed at index 5)",
            ),
        ]
        for name, value, message in cases:
            with self.subTest(name=name):
                with self.assertRaises(lcm_outcome.InvalidArgumentError) as caught:
                    self.send(**{name: value})
                error = caught.exception
                self.assertIsInstance(error, ValueError)
                self.assertEqual((error.status, error.status_name), (1, "LCM_ERR_INVALID_ARGUMENT"))
                self.assertTrue(error.message.startswith(message), error.message)

    def test_numbers_out_of_double_range(self) -> None:
        with self.assertRaises(lcm_outcome.InvalidArgumentError) as caught:
            self.send(target_amount=10**400)
        self.assertIn("target_amount is too large", caught.exception.message)
        # Infinity is a double, so the library's own check answers.
        with self.assertRaises(lcm_outcome.InvalidArgumentError) as caught:
            self.send(lead_score=float("inf"))
        self.assertIn("lead_score", caught.exception.message)

    def test_configure_arguments(self) -> None:
        with self.assertRaises(TypeError):
            self.client.configure("timeout_ms", 1.5)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            self.client.configure(None, "x")  # type: ignore[arg-type]
        with self.assertRaises(lcm_outcome.InvalidArgumentError):
            self.client.configure("endpoint", "http://127.0.0.1/\x00")
        # Integers are accepted for numeric options, and the setting takes effect.
        self.client.configure("timeout_ms", 2000)
        with self.assertRaises(lcm_outcome.ConfigError):
            self.client.configure("timeout_ms", 0)

    def test_nothing_was_sent_so_the_endpoint_was_never_tried(self) -> None:
        # The control: a valid call does reach the (refused) endpoint.
        with self.assertRaises(lcm_outcome.ConnectError):
            self.send()

    def test_errors_pickle_with_their_status(self) -> None:
        original = lcm_outcome.RejectedError("Invalid Call ID.")
        copy = pickle.loads(pickle.dumps(original))
        self.assertIs(type(copy), lcm_outcome.RejectedError)
        self.assertEqual(
            (copy.status, copy.status_name, copy.message),
            (7, "LCM_ERR_REJECTED", "Invalid Call ID."),
        )
        rejected = lcm_outcome.error_for(
            7,
            "LCM_ERR_REJECTED",
            'LCM rejected the outcome (success: false): type "WS_Error", message "m", detail "d"',
        )
        copy = pickle.loads(pickle.dumps(rejected))
        self.assertEqual((copy.lcm_type, copy.lcm_message, copy.lcm_detail), ("WS_Error", "m", "d"))
        hinted = lcm_outcome.error_for(2, "LCM_ERR_CONFIG", "m", hint="do this")
        copy = pickle.loads(pickle.dumps(hinted))
        self.assertEqual((copy.hint, str(copy)), ("do this", "LCM_ERR_CONFIG: m; hint: do this"))
        missing = lcm_outcome.LibraryNotFoundError([("somewhere", "no such file")])
        self.assertEqual(pickle.loads(pickle.dumps(missing)).attempts, missing.attempts)


if __name__ == "__main__":
    unittest.main()
