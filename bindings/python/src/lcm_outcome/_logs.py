"""The library's log lines, sent to a Python function or a :mod:`logging` logger
instead of stderr (``lcm_set_log_callback``)."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import traceback
from typing import Callable, Optional

from ._errors import InvalidArgumentError
from ._library import LOG_CALLBACK, load_library

__all__ = [
    "LOG_ERROR",
    "LOG_WARN",
    "LOG_INFO",
    "LOG_DEBUG",
    "LOG_TRACE",
    "TRACE",
    "LogHandler",
    "log_to",
    "logging_level",
    "set_log_handler",
]

#: The library's log levels (``LCM_LOG_ERROR`` ... ``LCM_LOG_TRACE``).
LOG_ERROR = 1
LOG_WARN = 2
LOG_INFO = 3
LOG_DEBUG = 4
LOG_TRACE = 5

#: The :mod:`logging` level :func:`log_to` gives ``LOG_TRACE`` lines: 5, below
#: ``logging.DEBUG``. ``logging.addLevelName(lcm_outcome.TRACE, "TRACE")`` names it.
TRACE = 5

_LOGGING_LEVELS = {
    LOG_ERROR: logging.ERROR,
    LOG_WARN: logging.WARNING,
    LOG_INFO: logging.INFO,
    LOG_DEBUG: logging.DEBUG,
    LOG_TRACE: TRACE,
}

# The library's own stderr format, for the lines that arrive while no handler is set.
_LEVEL_NAMES = {LOG_ERROR: "error", LOG_WARN: "warn", LOG_INFO: "info", LOG_DEBUG: "debug"}

LogHandler = Callable[[int, str], None]

# The Python function that receives lines; read without a lock by every call of
# _dispatch (a single global read is atomic).
_handler: Optional[LogHandler] = None
_per_thread = threading.local()
_exit_lock = threading.Lock()
_exit_hook_registered = False
_exiting = False


def logging_level(level: int) -> int:
    """The :mod:`logging` level of a library level: ERROR, WARNING, INFO, DEBUG and
    :data:`TRACE` (5). A level a later library adds maps to the nearest one."""
    return _LOGGING_LEVELS[min(max(level, LOG_ERROR), LOG_TRACE)]


def set_log_handler(handler: Optional[LogHandler]) -> None:
    """Sends the library's log lines, of every client in the process, to
    ``handler(level, message)``; ``None`` restores the default (stderr).

    ``level`` is :data:`LOG_ERROR` (1) to :data:`LOG_TRACE` (5); ``message`` is one
    line without prefix or newline. Each client's ``log_level`` option decides which
    lines exist at all (default ``warn``); ``auth`` never appears, agent comments
    only at ``trace``.

    The handler runs on the thread making the logged call, possibly on many threads
    at once, so it must be thread-safe. An exception it raises is reported through
    :func:`sys.unraisablehook` (printed to stderr by default) and does not change
    the call's result. It may call :func:`set_log_handler` and ``configure``, but
    not ``set_outcome`` (whose own lines would come back to it), which raises
    :class:`InvalidArgumentError` there and sends nothing, as the C API's
    ``lcm_set_outcome`` refuses it inside a log callback.

    When this returns, no other thread is still running the previous handler, so
    what it uses may be released. Because it waits, do not call it while holding a
    lock that the handler takes.

    The setting belongs to the library :func:`load_library` loads, which the
    module-level functions and every ``Client`` without ``library=`` use.

    At interpreter exit, stderr is restored (an :mod:`atexit` hook): a daemon
    thread still inside a call must not call into Python after the interpreter
    is finalised.
    """
    global _handler
    if handler is not None and not callable(handler):
        raise TypeError(f"handler must be callable or None, not {type(handler).__name__}")
    library = load_library()
    if handler is not None:
        _register_exit_hook()
    _handler = handler
    # Concurrent calls may reach the library in another order than they set
    # _handler: whoever sees that _handler changed during its call installs again,
    # so that the library ends up matching the last handler set.
    while True:
        wanted = _handler
        # One permanent C function pointer, never freed, serves every handler:
        # the library may hold it, or still run it on another thread, at any time.
        library.set_log_callback(_DISPATCH if wanted is not None else None)
        if _handler is wanted:
            return


def log_to(logger: logging.Logger) -> None:
    """Sends the library's log lines to ``logger``, at :func:`logging_level`'s levels:
    ERROR, WARNING, INFO, DEBUG, and :data:`TRACE` (5) for request bodies.

    Both filters apply: the client's ``log_level`` option (default ``warn``) decides
    which lines the library produces, the logger's level which it keeps. See
    :func:`set_log_handler`.
    """

    def to_logger(level: int, message: str) -> None:
        logger.log(logging_level(level), message)

    set_log_handler(to_logger)


def refuse_inside_handler(what: str) -> None:
    """Raises :class:`InvalidArgumentError` when called from a log handler, the
    refusal the C API gives when ``lcm_set_outcome`` is called inside its log
    callback.

    The library refuses it itself; this check only covers what it cannot see: a
    library built before it did (without any refusal, each line the inner call
    logs would run the handler again, sending again, until the stack overflows),
    and a handler sending through a ``Client`` of another library file, whose
    core does not know that this thread is inside the first one's callback.
    """
    if getattr(_per_thread, "depth", 0):
        raise InvalidArgumentError(
            f"{what} was called from inside a log handler; a handler may configure and "
            "replace handlers, but not send (its own log lines would come back to it)"
        )


def _dispatch(level: int, message: Optional[bytes], _user: object) -> None:
    # Runs on a C call's thread; nothing may propagate into C.
    try:
        text = (message or b"").decode("utf-8", errors="replace")
        handler = _handler
        if handler is None:
            # Being restored to stderr: the library's stderr line, so no line is lost.
            _write_stderr(level, text)
            return
        _per_thread.depth = getattr(_per_thread, "depth", 0) + 1
        try:
            handler(level, text)
        except BaseException:
            _report_handler_error(handler)
        finally:
            _per_thread.depth -= 1
    except BaseException:
        pass


_DISPATCH = LOG_CALLBACK(_dispatch)


def _write_stderr(level: int, text: str) -> None:
    name = _LEVEL_NAMES.get(level, "trace")
    os.write(2, f"lcm-outcome [{name}] {text}\n".encode("utf-8", errors="replace"))


class _Unraisable:
    """The argument of :func:`sys.unraisablehook` (its own type has no constructor)."""

    def __init__(self, handler: object) -> None:
        self.exc_type, self.exc_value, self.exc_traceback = sys.exc_info()
        self.err_msg = "Exception ignored in lcm_outcome log handler"
        self.object = handler


def _report_handler_error(handler: object) -> None:
    try:
        report = _Unraisable(handler)
        hook = sys.unraisablehook
        if hook is not sys.__unraisablehook__:
            hook(report)  # type: ignore[arg-type]
        elif sys.stderr is not None:
            # The default hook accepts only its own type: print as it would.
            sys.stderr.write(f"{report.err_msg}: {handler!r}\n")
            traceback.print_exception(
                report.exc_type, report.exc_value, report.exc_traceback, file=sys.stderr
            )
            sys.stderr.flush()
    except BaseException:
        pass


def _register_exit_hook() -> None:
    global _exit_hook_registered
    with _exit_lock:
        if _exiting:
            raise RuntimeError("set_log_handler: the interpreter is shutting down")
        if not _exit_hook_registered:
            atexit.register(_restore_stderr_at_exit)
            _exit_hook_registered = True


def _restore_stderr_at_exit() -> None:
    # Daemon threads may still be inside calls when the interpreter exits; after
    # finalisation a line they log would call into a dead interpreter (a crash or a
    # hang). atexit runs before that, with those threads still alive: restoring
    # stderr here waits for any handler they are running (the library call
    # releases the GIL, so they can finish) and sends later lines to stderr.
    global _exiting
    with _exit_lock:
        _exiting = True
    if _handler is not None:
        set_log_handler(None)
