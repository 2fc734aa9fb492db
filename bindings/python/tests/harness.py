"""Test helpers: live lcm-sim processes, clean subprocesses, and sample calls.

The simulator is the program named by the ``LCM_SIM`` environment variable
(``target/debug/lcm-sim``); the library is found through ``LCM_OUTCOME_LIB`` as the
package does it. ``cargo test --test python`` sets both.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional

import lcm_outcome

# The vendor sample's arguments, as keywords for set_outcome.
SAMPLE: Dict[str, Any] = dict(
    call_id="12345",
    account_number="5|3|1|0|0|44|1",
    outcome_id=1,
    user_id="testagent",
    agent_comments="Test comment",
)

START_DEADLINE_S = 15.0


def sim_program() -> str:
    path = os.environ.get("LCM_SIM")
    if not path or not os.path.isfile(path):
        raise RuntimeError(
            "LCM_SIM must name the lcm-sim program (cargo build -p lcm-sim; "
            f"target/debug/lcm-sim); it is {path!r}. `cargo test --test python` sets it."
        )
    return path


def poll(condition, what: str, deadline_s: float = 10.0, interval_s: float = 0.01):  # type: ignore[no-untyped-def]
    """Calls ``condition()`` until it returns something truthy, which it returns;
    fails naming ``what`` after ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
        time.sleep(interval_s)


class Simulator:
    """A live ``lcm-sim --listen 127.0.0.1:0 --record FILE [args...]``.

    Use as a context manager; ``url`` is the endpoint it printed, ``records()`` the
    outcomes it accepted (the record file's lines).
    """

    def __init__(self, *args: str, known_calls: Optional[List[str]] = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="lcm-sim-py-")
        self.record_path = os.path.join(self.dir, "record.jsonl")
        command = [sim_program(), "--listen", "127.0.0.1:0", "--record", self.record_path]
        if known_calls is not None:
            calls_path = os.path.join(self.dir, "calls.txt")
            with open(calls_path, "w", encoding="utf-8") as f:
                f.write("# known call ids\n" + "".join(f"{c}\n" for c in known_calls))
            command += ["--calls", calls_path]
        command += list(args)
        # Output goes to files, not pipes: nobody has to keep draining them.
        self._stdout_path = os.path.join(self.dir, "stdout")
        self._stderr_path = os.path.join(self.dir, "stderr")
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=err, stdin=subprocess.DEVNULL
            )
        try:
            self.url = poll(self._printed_url, "lcm-sim to print its URL", START_DEADLINE_S)
        except BaseException:
            self.stop()
            raise

    def _printed_url(self) -> Optional[str]:
        with open(self._stdout_path, encoding="utf-8") as f:
            line = f.readline()
        prefix = "lcm-sim listening on "
        if line.endswith("\n") and line.startswith(prefix):
            return line[len(prefix) :].strip()
        if self.process.poll() is not None:
            raise AssertionError(f"lcm-sim exited with {self.process.returncode}: {self.stderr()}")
        return None

    def stderr(self) -> str:
        with open(self._stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def records(self) -> List[Dict[str, Any]]:
        if not os.path.exists(self.record_path):
            return []
        with open(self.record_path, encoding="utf-8") as f:
            # Split on "\n" only (text may hold U+2028 and the like), and drop the
            # piece after the last one: a line still being appended.
            return [json.loads(line) for line in f.read().split("\n")[:-1]]

    def wait_for_records(self, count: int, deadline_s: float = 10.0) -> List[Dict[str, Any]]:
        return poll(
            lambda: len(self.records()) >= count and self.records(), f"{count} records", deadline_s
        )

    def client(self, **options: Any) -> lcm_outcome.Client:
        """A client for this simulator, direct (no proxy from the environment)."""
        return lcm_outcome.Client(endpoint=self.url, proxy="none", **options)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HeldAnswers:
    """A TCP relay in front of a simulator that passes requests on at once and holds
    every answer until ``release()``.

    The simulator records an outcome before it answers, so once an answer has reached
    the relay the outcome is recorded and the call that sent it is waiting inside the
    library, for as long as the test needs: no latency that a slow machine could
    outrun. Use as a context manager; ``url`` is the endpoint to call.
    """

    def __init__(self, sim: Simulator) -> None:
        host, port = sim.url.split("//")[1].split("/")[0].rsplit(":", 1)
        self._upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/lcm"
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._held = 0
        self._sockets: List[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection(self._upstream)
            except OSError:
                return  # closed
            with self._changed:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, hold: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                if hold and not self._released.is_set():
                    with self._changed:
                        self._held += 1
                        self._changed.notify_all()
                    self._released.wait()
                hold = False
                sink.sendall(data)
        except OSError:
            pass  # a side closed: the other one sees it

    def wait_for_held(self, count: int, deadline_s: float = 30.0) -> None:
        """Blocks until ``count`` answers are held; fails after ``deadline_s``."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._held >= count, deadline_s):
                raise AssertionError(
                    f"timed out after {deadline_s} s waiting for {count} held answers "
                    f"({self._held} held)"
                )

    def release(self) -> None:
        """Lets every answer, held or still to come, through."""
        self._released.set()

    def close(self) -> None:
        self.release()
        with self._changed:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked on it
            except OSError:
                pass
            s.close()

    def __enter__(self) -> "HeldAnswers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Bound for the life of the process, never listening: see refused_endpoint().
_refused: List[socket.socket] = []


def refused_endpoint() -> str:
    """An endpoint that refuses connections: a loopback port that this process keeps
    bound, but never listens on, for as long as it runs. Linux answers a connection
    to such a socket with a reset, as to a closed port, and no other test's server can
    be given the port meanwhile (a port bound and released at once could be)."""
    if not _refused:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        _refused.append(s)
    port = _refused[0].getsockname()[1]
    return f"http://127.0.0.1:{port}/lcm"


def clean_env(**extra: str) -> Dict[str, str]:
    """This environment without LCM_* options, keeping how to find the library and sim."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LCM_") or k in ("LCM_OUTCOME_LIB", "LCM_SIM")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def run_python(code: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter: the default client and the loaded
    library are per process, so tests of them each need their own."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
