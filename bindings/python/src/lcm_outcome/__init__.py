"""Record a dialed call's telephony outcome in LCM, through liblcm_outcome (ctypes).

Quick start::

    import lcm_outcome

    lcm_outcome.configure("endpoint", "https://lcm.example.com/api/SetCallOutcomeWithComments")
    lcm_outcome.set_outcome("12345", "5|3|1|0|0|44|1", 1, user_id="testagent",
                            agent_comments="Test comment")

The module-level functions use the library's process-wide default client, which
also reads ``LCM_<KEY>`` environment variables (``LCM_ENDPOINT``, ``LCM_AUTH``, ...)
once, at its first use; :func:`configure` overrides them. :class:`Client` is an
independent client with its own options and connections.

Every failure raises a subclass of :class:`LcmError`, one per C status code.
``set_outcome`` returns :class:`Delivered`, or, with the ``outbox`` option, a
:class:`Queued` outcome that the library stored and delivers later (the
background sender, or :func:`flush`).

The library is found as :func:`load_library` describes (``LCM_OUTCOME_LIB`` names
it). Its log lines go to stderr unless :func:`set_log_handler` or :func:`log_to`
sends them elsewhere.
"""

from __future__ import annotations

from typing import Union

from . import _arguments, _client, _hints, _logs, _results
from ._arguments import Number, OptionValue
from ._client import COUNT_DOC, FLUSH_DOC, OPTIONS_DOC, OUTCOME_DOC, Client
from ._errors import (
    LCM_OK,
    LCM_QUEUED,
    BadResponseError,
    ClientClosedError,
    ConfigError,
    ConnectError,
    HttpStatusError,
    InternalError,
    InvalidArgumentError,
    LcmError,
    LcmTimeoutError,
    RejectedError,
    error_for,
)
from ._logs import (
    LOG_DEBUG,
    LOG_ERROR,
    LOG_INFO,
    LOG_TRACE,
    LOG_WARN,
    TRACE,
    LogHandler,
    log_to,
    logging_level,
    set_log_handler,
)
from ._library import (
    LCM_ERROR_SIZE,
    LIBRARY_ENV_VAR,
    Library,
    LibraryNotFoundError,
    load_library,
)
from ._results import Delivered, FlushResult, OutboxCount, Queued, SetOutcomeResult

__version__ = "0.1.0"

__all__ = [
    "LCM_ERROR_SIZE",
    "LCM_OK",
    "LCM_QUEUED",
    "LIBRARY_ENV_VAR",
    "LOG_DEBUG",
    "LOG_ERROR",
    "LOG_INFO",
    "LOG_TRACE",
    "LOG_WARN",
    "TRACE",
    "BadResponseError",
    "Client",
    "ClientClosedError",
    "ConfigError",
    "ConnectError",
    "Delivered",
    "FlushResult",
    "HttpStatusError",
    "InternalError",
    "InvalidArgumentError",
    "LcmError",
    "LcmTimeoutError",
    "Library",
    "LibraryNotFoundError",
    "LogHandler",
    "OutboxCount",
    "Queued",
    "RejectedError",
    "SetOutcomeResult",
    "configure",
    "error_for",
    "flush",
    "load_library",
    "log_to",
    "logging_level",
    "outbox_count",
    "set_log_handler",
    "set_outcome",
    "status_name",
    "version",
]


def version() -> str:
    """The loaded library's version, ``"MAJOR.MINOR.PATCH"`` (``lcm_version()``)."""
    return load_library().version()


def status_name(status: int) -> str:
    """The name of a status code, e.g. ``"LCM_ERR_TIMEOUT"`` (``lcm_status_name()``)."""
    return load_library().status_name(status)


def configure(key: str, value: OptionValue) -> None:
    """Sets option ``key`` of the process-wide default client to ``value``.

    Explicit configuration beats the ``LCM_<KEY>`` environment variable; calls
    already running keep the options they started with.

    Raises:
        ConfigError: unknown key or bad value; the option is unchanged.
        InvalidArgumentError: ``key`` or ``value`` is not valid text.
    """
    key_bytes, value_bytes = _arguments.option(key, value)
    library = load_library()
    status, message = library.configure(key_bytes, value_bytes)
    _client.check_status(library, status, message, _hints.for_default_client)


configure.__doc__ = (configure.__doc__ or "") + OPTIONS_DOC


def set_outcome(
    call_id: str,
    account_number: str,
    outcome_id: Union[str, int],
    *,
    user_id: str,
    lead_score: Number = 0,
    agent_comments: str = "",
    target_amount: Number = 0,
) -> SetOutcomeResult:
    """Records the telephony outcome of call ``call_id`` with the default client."""
    _logs.refuse_inside_handler("set_outcome")
    args = _arguments.outcome(
        call_id, account_number, outcome_id, lead_score, user_id, agent_comments, target_amount
    )
    library = load_library()
    status, message = library.set_outcome(*args)
    return _results.outcome_result(library, status, message, _hints.for_default_client)


set_outcome.__doc__ = (set_outcome.__doc__ or "") + OUTCOME_DOC


def flush(timeout_ms: int = 10000) -> FlushResult:
    """Delivers the default client's outbox now (``lcm_outbox_flush``)."""
    timeout = _results.timeout_arg(timeout_ms)
    library = load_library()
    status, message, counts = library.outbox_flush(timeout)
    return _results.flush_result(library, status, message, counts, _hints.for_default_client)


flush.__doc__ = (flush.__doc__ or "") + FLUSH_DOC


def outbox_count() -> OutboxCount:
    """What the default client's outbox holds (``lcm_outbox_count``)."""
    library = load_library()
    status, message, counts = library.outbox_count()
    return _results.count_result(library, status, message, counts, _hints.for_default_client)


outbox_count.__doc__ = (outbox_count.__doc__ or "") + COUNT_DOC
