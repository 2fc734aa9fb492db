"""Where the package looks for liblcm_outcome, in which order, and what it says
when nothing loads. The loaded library is per process, so each case runs in a
fresh interpreter."""

from __future__ import annotations

import _ctypes
import json
import os
import shutil
import tempfile
import textwrap
import unittest
from typing import Any, Dict

import lcm_outcome
from harness import clean_env, run_python

# Loads the library as `load` says and prints what happened as JSON.
PROBE = textwrap.dedent(
    """
    import json, sys
    import lcm_outcome
    try:
        library = {load}
        print(json.dumps({{"version": lcm_outcome.version(), "path": library.path,
                          "found_by": library.found_by, "module": lcm_outcome.__file__}}))
    except lcm_outcome.LibraryNotFoundError as e:
        print(json.dumps({{"error": str(e), "attempts": e.attempts,
                          "is_oserror": isinstance(e, OSError)}}))
    """
)


def library_path() -> str:
    return lcm_outcome.load_library().path


class LibraryLoading(unittest.TestCase):
    def probe(self, load: str = "lcm_outcome.load_library()", **env: str) -> Dict[str, Any]:
        environment = clean_env(**env)
        for name in [k for k in env if env[k] == ""]:
            del environment[name]
        result = run_python(PROBE.format(load=load), environment)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def assertNotFound(self, outcome: Dict[str, Any], *attempts: "tuple[str, str]") -> None:
        self.assertIn("error", outcome, outcome)
        self.assertTrue(outcome["is_oserror"])
        self.assertEqual(len(outcome["attempts"]), len(attempts), outcome["attempts"])
        for (place, reason), (want_place, want_reason) in zip(outcome["attempts"], attempts):
            self.assertIn(want_place, place)
            self.assertIn(want_reason, reason)
            # The message shows every attempt.
            self.assertIn(f"  - {place}: {reason}", outcome["error"])
        self.assertIn("LCM_OUTCOME_LIB", outcome["error"])

    def test_environment_variable_that_names_no_file(self) -> None:
        missing = os.path.join(tempfile.gettempdir(), "no-such-dir", "liblcm_outcome.so")
        outcome = self.probe(LCM_OUTCOME_LIB=missing)
        # An explicit choice that fails is not silently replaced by another copy.
        self.assertNotFound(outcome, (f"$LCM_OUTCOME_LIB ({missing})", "no such file"))

    def test_path_argument_that_is_not_a_shared_library(self) -> None:
        outcome = self.probe(
            f"lcm_outcome.load_library({__file__!r})", LCM_OUTCOME_LIB=library_path()
        )
        self.assertNotFound(outcome, (f"the path argument ({__file__})", ""))
        self.assertNotEqual(outcome["attempts"][0][1], "")

    def test_a_shared_library_that_is_not_lcm_outcome(self) -> None:
        other = _ctypes.__file__
        outcome = self.probe(LCM_OUTCOME_LIB=other)
        self.assertNotFound(outcome, (other, "loaded, but it has no function lcm_version"))

    def test_the_search_lists_every_place_it_looked(self) -> None:
        beside = os.path.join(os.path.dirname(lcm_outcome.__file__), "liblcm_outcome.so")
        if os.path.exists(beside):
            self.skipTest(f"{beside} exists")
        outcome = self.probe(LCM_OUTCOME_LIB="", LD_LIBRARY_PATH="")
        if "error" not in outcome:
            self.skipTest(f"this system has the library installed: {outcome}")
        self.assertNotFound(
            outcome,
            (f"next to the package ({beside})", "no such file"),
            ("the system's library search path (liblcm_outcome.so)", "liblcm_outcome.so"),
            ("ctypes.util.find_library('lcm_outcome')", "found nothing"),
        )

    def test_environment_variable_may_name_the_directory(self) -> None:
        outcome = self.probe(LCM_OUTCOME_LIB=os.path.dirname(library_path()))
        self.assertEqual(outcome["found_by"], "$LCM_OUTCOME_LIB")
        self.assertTrue(os.path.samefile(outcome["path"], library_path()))

    def test_the_path_argument_comes_before_the_environment(self) -> None:
        outcome = self.probe(
            f"lcm_outcome.load_library({library_path()!r})", LCM_OUTCOME_LIB="/nonexistent"
        )
        self.assertEqual(outcome["found_by"], "the path argument")

    def test_the_system_search_path(self) -> None:
        outcome = self.probe(LCM_OUTCOME_LIB="", LD_LIBRARY_PATH=os.path.dirname(library_path()))
        self.assertEqual(outcome["found_by"], "the system's library search path")

    def test_a_library_next_to_the_package(self) -> None:
        site = tempfile.mkdtemp(prefix="lcm-py-site-")
        self.addCleanup(shutil.rmtree, site, True)
        package = os.path.join(site, "lcm_outcome")
        shutil.copytree(os.path.dirname(lcm_outcome.__file__), package)
        shutil.copy(library_path(), os.path.join(package, "liblcm_outcome.so"))
        outcome = self.probe(LCM_OUTCOME_LIB="", PYTHONPATH=site)
        self.assertEqual(outcome["module"], os.path.join(package, "__init__.py"))
        self.assertEqual(outcome["found_by"], "next to the package")
        self.assertEqual(outcome["path"], os.path.join(package, "liblcm_outcome.so"))

    def test_one_library_per_process(self) -> None:
        code = textwrap.dedent(
            f"""
            import lcm_outcome, os
            first = lcm_outcome.load_library()
            assert lcm_outcome.load_library(os.path.dirname(first.path)) is first
            try:
                lcm_outcome.load_library({_ctypes.__file__!r})
            except ValueError as e:
                print(e)
            """
        )
        result = run_python(code, clean_env(LCM_OUTCOME_LIB=library_path()))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("already uses the library", result.stdout)


if __name__ == "__main__":
    unittest.main()
