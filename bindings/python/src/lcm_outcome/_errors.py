"""Which exception does each ``lcm_status`` code raise? One class per error code,
under :class:`LcmError`, all derived from the one table of statuses below. The
statuses that are results, ``LCM_OK`` and ``LCM_QUEUED``, raise nothing."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Dict, Optional, Type, TypeVar

if TYPE_CHECKING:
    from ._results import FlushResult

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
    "LCM_QUEUED",
]

# Every status this binding knows, by value, with its name in the C header. This is
# the binding's only copy of the table: the constants, each class's ``status`` and
# ``status_name`` and :func:`error_for` all derive from it, and
# tests/bindings_agree.rs checks it against include/lcm_outcome.h.
_STATUS_NAMES: Dict[int, str] = {
    0: "LCM_OK",
    1: "LCM_ERR_INVALID_ARGUMENT",
    2: "LCM_ERR_CONFIG",
    3: "LCM_ERR_CONNECT",
    4: "LCM_ERR_TIMEOUT",
    5: "LCM_ERR_HTTP_STATUS",
    6: "LCM_ERR_BAD_RESPONSE",
    7: "LCM_ERR_REJECTED",
    8: "LCM_ERR_INTERNAL",
    9: "LCM_QUEUED",
}

_STATUS_VALUES: Dict[str, int] = {name: value for value, name in _STATUS_NAMES.items()}

#: The status of success; never raised.
LCM_OK = _STATUS_VALUES["LCM_OK"]

#: The status of an outcome stored in the outbox for later delivery; a result
#: (:class:`~lcm_outcome.Queued`), never raised.
LCM_QUEUED = _STATUS_VALUES["LCM_QUEUED"]


class LcmError(Exception):
    """A call did not record the outcome.

    Attributes:
        status: the C API's ``lcm_status`` code (``LCM_ERR_*``).
        status_name: its name, as ``lcm_status_name()`` gives it.
        message: the library's message (what went wrong, naming the argument,
            option or server answer involved).
        hint: how to set, in Python, the option the message names (a
            :class:`ConfigError` such as "endpoint is not set"), e.g. ``"pass
            endpoint=... to lcm_outcome.Client() or call client.configure('endpoint',
            ...)"``; ``None`` when the message names none. The library's message
            names options, not how a language sets them.
        flush_result: raised by ``flush`` after deliveries were tried, the outbox's
            :class:`~lcm_outcome.FlushResult` (what was delivered, what is still
            pending); ``None`` otherwise.

    ``str(error)`` is ``"<status_name>: <message>"``, followed by ``"; hint:
    <hint>"`` when there is a hint.
    """

    status: int = -1
    status_name: str = "LCM_UNKNOWN_STATUS"
    hint: Optional[str] = None
    flush_result: Optional["FlushResult"] = None

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        status_name: Optional[str] = None,
        *,
        hint: Optional[str] = None,
    ) -> None:
        super().__init__(message, status, status_name)
        self.message = message
        if status is not None:
            self.status = status
        if status_name is not None:
            self.status_name = status_name
        # An instance attribute, so that pickling (which keeps __dict__) keeps it.
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        text = f"{self.status_name}: {self.message}"
        return text if self.hint is None else f"{text}; hint: {self.hint}"


# Filled by @_raised_for: the class of each error status, for error_for.
_BY_STATUS: Dict[int, Type[LcmError]] = {}

_Class = TypeVar("_Class", bound=Type[LcmError])


def _raised_for(name: str) -> Callable[[_Class], _Class]:
    """Makes the decorated class the one raised for status ``name``: its ``status``,
    ``status_name`` and the start of its docstring come from the table."""

    def register(cls: _Class) -> _Class:
        value = _STATUS_VALUES[name]
        if not name.startswith("LCM_ERR_"):
            raise TypeError(f"{cls.__name__}: {name} is not an error status")
        if value in _BY_STATUS:
            raise TypeError(f"{cls.__name__}: {name} already raises {_BY_STATUS[value].__name__}")
        cls.status = value
        cls.status_name = name
        cls.__doc__ = f"``{name}`` ({value}): {cls.__doc__}"
        _BY_STATUS[value] = cls
        return cls

    return register


@_raised_for("LCM_ERR_INVALID_ARGUMENT")
class InvalidArgumentError(LcmError, ValueError):
    """an argument is empty where mandatory, not valid text (a NUL character, a
    lone surrogate), over 64 KiB, or a non-finite number, or ``set_outcome`` was
    called from inside a log handler. Nothing was sent. Fix what the message
    names."""


class ClientClosedError(InvalidArgumentError):
    """The :class:`~lcm_outcome.Client` was closed before this call. The C API
    answers a call without a live client with ``LCM_ERR_INVALID_ARGUMENT`` too."""


@_raised_for("LCM_ERR_CONFIG")
class ConfigError(LcmError):
    """no or bad endpoint, unknown option or bad option value (also from an
    ``LCM_<KEY>`` environment variable). Nothing was sent."""


@_raised_for("LCM_ERR_CONNECT")
class ConnectError(LcmError):
    """DNS, connect, TLS or proxy failure, or the deadline ran out while
    connecting. The request was **not** delivered: safe to send the outcome again
    later."""


@_raised_for("LCM_ERR_TIMEOUT")
class LcmTimeoutError(LcmError):
    """the request was sent but no complete answer came within ``timeout_ms``, or
    the connection broke before the answer was complete. The outcome **may or may
    not** be recorded: check in LCM before sending again.

    Named so as not to shadow the builtin ``TimeoutError``, which it is not: an
    ``except TimeoutError`` does not catch it."""


@_raised_for("LCM_ERR_HTTP_STATUS")
class HttpStatusError(LcmError):
    """the server answered a non-2xx status (a 3xx too: redirects are not
    followed). The message quotes up to 200 bytes of the body."""


@_raised_for("LCM_ERR_BAD_RESPONSE")
class BadResponseError(LcmError):
    """a 2xx answer that is not a valid ``SetCallOutcomeWithCommentsResult`` for
    this call, or an answer that is not HTTP. The outcome may or may not be
    recorded; the endpoint is probably not LCM's ``SetCallOutcomeWithComments``."""


# The library's LCM_ERR_REJECTED message (src/message.rs):
#   LCM rejected the outcome (success: false): type "T", message "M", detail "D"
# with each part present only when LCM sent it, in this order, joined by ", ". The
# values are not escaped for quotes, so each one ends at the quote that the next part,
# or the end of the text, follows; detail, the last, takes everything up to the final
# quote. A message in another form (a reworded library) leaves the fields None.
_REJECTED = re.compile(
    r'LCM rejected the outcome \(success: false\): '
    r'(?:type "(?P<type>.*?)"(?:, |\Z))?'
    r'(?:message "(?P<message>.*?)"(?:, |\Z))?'
    r'(?:detail "(?P<detail>.*)")?\Z',
    re.DOTALL,
)


@_raised_for("LCM_ERR_REJECTED")
class RejectedError(LcmError):
    """LCM answered ``success: false``; the message carries its error type, message
    and detail (e.g. ``WS_Error``, "Invalid Call ID.", "Invalid Call ID:123").

    Attributes:
        lcm_type: LCM's ``error.type``, e.g. ``"WS_Error"``.
        lcm_message: LCM's ``error.message``, e.g. ``"Invalid Call ID."``.
        lcm_detail: LCM's ``error.detail``, e.g. ``"Invalid Call ID:123"``.

    Each is ``None`` when LCM sent no such field (or an empty one). They are read
    back from the library's message, so they are as it shows them: at most 80
    bytes, cut with ``"..."``, control characters escaped (``\\n``, ``\\x1b``).
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        status_name: Optional[str] = None,
        *,
        hint: Optional[str] = None,
    ) -> None:
        super().__init__(message, status, status_name, hint=hint)
        found = _REJECTED.search(message)
        fields: Dict[str, Optional[str]] = found.groupdict() if found else {}
        self.lcm_type = fields.get("type")
        self.lcm_message = fields.get("message")
        self.lcm_detail = fields.get("detail")


@_raised_for("LCM_ERR_INTERNAL")
class InternalError(LcmError):
    """a bug in the library (a caught panic). The process stays alive; please
    report the message."""


def error_for(
    status: int, status_name: str, message: str, *, hint: Optional[str] = None
) -> LcmError:
    """The exception for a status the library returned, with ``hint`` (see
    :attr:`LcmError.hint`); a status this binding does not know (from a newer
    library) becomes a plain :class:`LcmError`."""
    cls = _BY_STATUS.get(status, LcmError)
    return cls(message, status, status_name, hint=hint)

