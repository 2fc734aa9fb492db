"""What a call that did not fail returns: the outcome delivered or queued in the
outbox, and the counts of the outbox after a flush or a count.

``LCM_QUEUED`` is not an error: with the ``outbox`` option set, an outcome LCM did
not confirm for a reason that may pass (LCM down, a timeout, a 5xx) is stored on
local disk, and the library delivers it later. The caller has nothing to retry,
so it gets a :class:`Queued` result, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Optional, Tuple, Union

from ._errors import LCM_OK, LCM_QUEUED, ConfigError, InternalError, InvalidArgumentError
from ._errors import LcmError, error_for
from ._hints import Hinter

if TYPE_CHECKING:
    from ._library import Library

__all__ = ["Delivered", "FlushResult", "OutboxCount", "Queued", "SetOutcomeResult"]


@dataclass(frozen=True)
class Delivered:
    """``LCM_OK``: LCM confirmed the outcome (``success: true``)."""

    status: ClassVar[int] = LCM_OK
    queued: ClassVar[bool] = False
    entry_id: ClassVar[Optional[int]] = None
    message: ClassVar[str] = ""


@dataclass(frozen=True)
class Queued:
    """``LCM_QUEUED``: not confirmed now, but stored durably in the outbox; the
    library delivers it later (its background sender, or :meth:`Client.flush`).

    Attributes:
        entry_id: the outbox entry's id, as the library's message gives it
            (``None`` if a library's message ever lacks it).
        message: the library's message: where it is stored and why it was queued
            (the delivery error, e.g. ``cannot connect to ...``).
    """

    entry_id: Optional[int]
    message: str
    status: ClassVar[int] = LCM_QUEUED
    queued: ClassVar[bool] = True


#: What ``set_outcome`` returns; both have ``.queued``, ``.entry_id``, ``.message``
#: and ``.status``.
SetOutcomeResult = Union[Delivered, Queued]

_DELIVERED = Delivered()

# The library's LCM_QUEUED message: "queued in the outbox '<path>' as entry N, to be
# delivered later; <why>". The path and the why may hold any text, so the id is read
# where the wording puts it; the looser form only serves a reworded message.
_ENTRY = re.compile(r"' as entry ([0-9]+), to be delivered later")
_ANY_ENTRY = re.compile(r"\bentry ([0-9]+)\b")


def entry_id(message: str) -> Optional[int]:
    """The entry id in an ``LCM_QUEUED`` message, or ``None``."""
    found = _ENTRY.search(message) or _ANY_ENTRY.search(message)
    return int(found.group(1)) if found else None


def library_error(library: "Library", status: int, message: str, hinter: Hinter) -> LcmError:
    """The exception of a status the library returned; a :class:`ConfigError` gets
    the hint of the client that raised it (``hinter``, from ``_hints``)."""
    hint = hinter(message) if status == ConfigError.status else None
    return error_for(status, library.status_name(status), message, hint=hint)


def outcome_result(
    library: "Library", status: int, message: str, hinter: Hinter
) -> SetOutcomeResult:
    """``set_outcome``'s result for what the library returned, or its exception."""
    if status == LCM_OK:
        return _DELIVERED
    if status == LCM_QUEUED:
        return Queued(entry_id(message), message)
    raise library_error(library, status, message, hinter)


class FlushResult(NamedTuple):
    """The outbox after :meth:`Client.flush`.

    Attributes:
        delivered: entries LCM confirmed during this flush.
        pending: entries still waiting afterwards (those another thread or process
            is sending at the moment included); 0 when ``flush`` returns.
        dead: dead letters (entries LCM rejected, or older than
            ``outbox_max_age_s``) in the outbox afterwards.
    """

    delivered: int
    pending: int
    dead: int


class OutboxCount(NamedTuple):
    """What the outbox holds (:meth:`Client.outbox_count`).

    Attributes:
        pending: entries waiting for delivery (those being sent included).
        dead: dead letters (entries LCM rejected, or older than ``outbox_max_age_s``).
    """

    pending: int
    dead: int


# The statuses for which lcm_outbox_flush leaves its counts unwritten: nothing was
# tried. After any other failure (a delivery's status) they are the outbox's state.
_NO_COUNTS = {InvalidArgumentError.status, ConfigError.status, InternalError.status}

#: The largest ``timeout_ms`` the C API takes (an ``int32_t``).
_INT32_MAX = 2**31 - 1


def timeout_arg(timeout_ms: object) -> int:
    """``flush``'s ``timeout_ms`` as the C ``int32_t``. A negative value goes to the
    library, whose message names it; one ctypes would silently wrap does not."""
    if timeout_ms is None:
        raise TypeError("timeout_ms is None; it must be int")
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int):
        raise TypeError(f"timeout_ms must be int, not {type(timeout_ms).__name__}")
    if not -_INT32_MAX - 1 <= timeout_ms <= _INT32_MAX:
        raise InvalidArgumentError(
            f"timeout_ms is {timeout_ms}; it must be 0 to {_INT32_MAX} milliseconds"
        )
    return timeout_ms


def flush_result(
    library: "Library", status: int, message: str, counts: Tuple[int, ...], hinter: Hinter
) -> FlushResult:
    """``flush``'s result, or the exception of the status, carrying the counts in
    ``flush_result`` when the library wrote them."""
    result = FlushResult(*counts)
    if status == LCM_OK:
        return result
    error = library_error(library, status, message, hinter)
    if status not in _NO_COUNTS:
        error.flush_result = result
    raise error


def count_result(
    library: "Library", status: int, message: str, counts: Tuple[int, ...], hinter: Hinter
) -> OutboxCount:
    """``outbox_count``'s result, or the exception of the status."""
    if status != LCM_OK:
        raise library_error(library, status, message, hinter)
    return OutboxCount(*counts)
