"""The module-level functions on the library's process-wide default client.

That client lives once per process and reads LCM_<KEY> variables at its first
use, so each test runs its Python code in a fresh interpreter."""

from __future__ import annotations

import re
import textwrap
import unittest

import lcm_outcome
from harness import Simulator, clean_env, run_python

SEND = textwrap.dedent(
    """
    import lcm_outcome
    try:
        lcm_outcome.set_outcome("12345", "5|3|1|0|0|44|1", 1, user_id="testagent",
                                agent_comments="via the default client")
        print("OK")
    except lcm_outcome.LcmError as e:
        print(type(e).__name__, e.status, e)
    """
)


class DefaultClient(unittest.TestCase):
    def run_ok(self, code: str, **env: str) -> str:
        result = run_python(code, clean_env(**env))
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_endpoint_from_the_environment(self) -> None:
        with Simulator() as sim:
            out = self.run_ok(SEND, LCM_ENDPOINT=sim.url, LCM_PROXY="none", LCM_SOURCE="env-dialer")
            self.assertEqual(out, "OK\n")
            (record,) = sim.records()
        self.assertEqual(record["AgentComments"], "via the default client")
        self.assertEqual(record["source"], "env-dialer")

    def test_configure_overrides_a_bad_environment(self) -> None:
        with Simulator() as sim:
            code = SEND
            code += f"lcm_outcome.configure('endpoint', {sim.url!r})\n"
            code += "lcm_outcome.configure('timeout_ms', 4000)\n"
            code += SEND
            out = self.run_ok(
                code, LCM_ENDPOINT="ftp://nowhere", LCM_TIMEOUT_MS="soon", LCM_PROXY="none"
            )
            first, second = out.splitlines()
            self.assertRegex(first, r"^ConfigError 2 LCM_ERR_CONFIG: .*LCM_(ENDPOINT|TIMEOUT_MS)")
            self.assertEqual(second, "OK")
            self.assertEqual(len(sim.records()), 1)

    def test_no_endpoint_is_a_config_error(self) -> None:
        out = self.run_ok(SEND, LCM_PROXY="none")
        self.assertTrue(out.startswith("ConfigError 2 LCM_ERR_CONFIG: endpoint is not set"), out)

    def test_configure_raises_for_unknown_options(self) -> None:
        code = textwrap.dedent(
            """
            import lcm_outcome
            try:
                lcm_outcome.configure("endpont", "http://127.0.0.1:1/")
            except lcm_outcome.ConfigError as e:
                print(e.status_name, e.message)
            """
        )
        out = self.run_ok(code)
        self.assertTrue(out.startswith("LCM_ERR_CONFIG unknown option 'endpont'"), out)

    def test_version(self) -> None:
        self.assertRegex(lcm_outcome.version(), re.compile(r"^\d+\.\d+\.\d+$"))
        self.assertEqual(lcm_outcome.version(), lcm_outcome.load_library().version())
        self.assertEqual(lcm_outcome.status_name(4), "LCM_ERR_TIMEOUT")


if __name__ == "__main__":
    unittest.main()
