"""One exception class per ``lcm_status`` error code, under :class:`LcmError`."""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "LcmError",
    "InvalidArgumentError",
    "ClientClosedError",
    "ConfigError",
    "ConnectError",
    "LcmTimeoutError",
    "HttpStatusError",
    "BadResponseError",
    "RejectedError",
    "InternalError",
    "LCM_OK",
]

#: The status of success; never raised.
LCM_OK = 0


class LcmError(Exception):
    """A call did not record the outcome.

    Attributes:
        status: the C API's ``lcm_status`` code (``LCM_ERR_*``).
        status_name: its name, as ``lcm_status_name()`` gives it.
        message: the library's message (what went wrong, naming the argument,
            option or server answer involved).

    ``str(error)`` is ``"<status_name>: <message>"``.
    """

    status: int = -1
    status_name: str = "LCM_UNKNOWN_STATUS"

    def __init__(
        self, message: str, status: Optional[int] = None, status_name: Optional[str] = None
    ) -> None:
        super().__init__(message, status, status_name)
        self.message = message
        if status is not None:
            self.status = status
        if status_name is not None:
            self.status_name = status_name

    def __str__(self) -> str:
        return f"{self.status_name}: {self.message}"


class InvalidArgumentError(LcmError, ValueError):
    """``LCM_ERR_INVALID_ARGUMENT`` (1): an argument is empty where mandatory,
    not valid text (a NUL character, a lone surrogate), over 64 KiB, or a
    non-finite number. Nothing was sent. Fix the argument the message names."""

    status = 1
    status_name = "LCM_ERR_INVALID_ARGUMENT"


class ClientClosedError(InvalidArgumentError):
    """The :class:`~lcm_outcome.Client` was closed before this call. The C API
    answers a call without a live client with ``LCM_ERR_INVALID_ARGUMENT`` too."""


class ConfigError(LcmError):
    """``LCM_ERR_CONFIG`` (2): no or bad endpoint, unknown option or bad option
    value (also from an ``LCM_<KEY>`` environment variable). Nothing was sent."""

    status = 2
    status_name = "LCM_ERR_CONFIG"


class ConnectError(LcmError):
    """``LCM_ERR_CONNECT`` (3): DNS, connect, TLS or proxy failure, or the deadline
    ran out while connecting. The request was **not** delivered: safe to send the
    outcome again later."""

    status = 3
    status_name = "LCM_ERR_CONNECT"


class LcmTimeoutError(LcmError):
    """``LCM_ERR_TIMEOUT`` (4): the request was sent but no complete answer came
    within ``timeout_ms``, or the connection broke before the answer was complete.
    The outcome **may or may not** be recorded: check in LCM before sending again.

    Named so as not to shadow the builtin ``TimeoutError``, which it is not: an
    ``except TimeoutError`` does not catch it."""

    status = 4
    status_name = "LCM_ERR_TIMEOUT"


class HttpStatusError(LcmError):
    """``LCM_ERR_HTTP_STATUS`` (5): the server answered a non-2xx status (a 3xx too:
    redirects are not followed). The message quotes up to 200 bytes of the body."""

    status = 5
    status_name = "LCM_ERR_HTTP_STATUS"


class BadResponseError(LcmError):
    """``LCM_ERR_BAD_RESPONSE`` (6): a 2xx answer that is not a valid
    ``SetCallOutcomeWithCommentsResult`` for this call, or an answer that is not
    HTTP. The outcome may or may not be recorded; the endpoint is probably not
    LCM's ``SetCallOutcomeWithComments``."""

    status = 6
    status_name = "LCM_ERR_BAD_RESPONSE"


class RejectedError(LcmError):
    """``LCM_ERR_REJECTED`` (7): LCM answered ``success: false``; the message
    carries its error type, message and detail (e.g. ``WS_Error``,
    "Invalid Call ID.", "Invalid Call ID:123")."""

    status = 7
    status_name = "LCM_ERR_REJECTED"


class InternalError(LcmError):
    """``LCM_ERR_INTERNAL`` (8): a bug in the library (a caught panic). The process
    stays alive; please report the message."""

    status = 8
    status_name = "LCM_ERR_INTERNAL"


_BY_STATUS: Dict[int, Type[LcmError]] = {
    cls.status: cls
    for cls in (
        InvalidArgumentError,
        ConfigError,
        ConnectError,
        LcmTimeoutError,
        HttpStatusError,
        BadResponseError,
        RejectedError,
        InternalError,
    )
}


def error_for(status: int, status_name: str, message: str) -> LcmError:
    """The exception for a status the library returned; a status this binding does
    not know (from a newer library) becomes a plain :class:`LcmError`."""
    cls = _BY_STATUS.get(status, LcmError)
    return cls(message, status, status_name)
