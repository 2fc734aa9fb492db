"""Python values to the C API's arguments: UTF-8 strings without NUL, doubles.

Only what Python can get wrong is checked here (types, ``None``, NUL characters,
text that is not encodable). Emptiness, length and finiteness are the library's
checks, so that their messages are the same from every language. ``None`` is named
as such ("agent_comments is None"): ctypes would pass it as a NULL pointer, and the
library's answer would speak C ("agent_comments is NULL").
"""

from __future__ import annotations

import decimal
import numbers
import os
from typing import Tuple, Union

from ._errors import InvalidArgumentError

Number = Union[int, float, decimal.Decimal]
OptionValue = Union[str, int, "os.PathLike[str]"]


def _refuse_none(name: str, value: object, wanted: str) -> None:
    if value is None:
        raise TypeError(f"{name} is None; it must be {wanted}")


def text(name: str, value: object) -> bytes:
    """``value`` as NUL-terminable UTF-8, for the argument called ``name``."""
    _refuse_none(name, value, "str")
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    if "\0" in value:
        raise InvalidArgumentError(
            f"{name} contains a NUL character, which a C string cannot carry"
        )
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgumentError(
            f"{name} is not valid Unicode text ({e.reason} at index {e.start})"
        ) from None


def outcome_id(value: object) -> bytes:
    """An outcome id given as ``str`` or ``int`` (sent as its decimal string)."""
    _refuse_none("outcome_id", value, "str or int")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode("ascii")
    if isinstance(value, str):
        return text("outcome_id", value)
    raise TypeError(f"outcome_id must be str or int, not {type(value).__name__}")


def number(name: str, value: object) -> float:
    """A real number (``int``, ``float``, ``Decimal``, ...) as a C double."""
    _refuse_none(name, value, "a number")
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise InvalidArgumentError(f"{name} is too large for a double") from None


def option(key: object, value: object) -> Tuple[bytes, bytes]:
    """A configuration key and its value (``str``, ``int`` for numeric options, or a
    path object for ``ca_file``)."""
    key_bytes = text("key", key)
    _refuse_none(f"the value of option {key!r}", value, 'str or int ("" restores the default)')
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError(
            f"the value of option {key!r} must be str or int, not {type(value).__name__}"
        )
    return key_bytes, text(f"the value of option {key!r}", value)


def outcome(
    call_id: object,
    account_number: object,
    outcome_id_value: object,
    lead_score: object,
    user_id: object,
    agent_comments: object,
    target_amount: object,
) -> Tuple[bytes, bytes, bytes, float, bytes, bytes, float]:
    """The seven arguments of ``lcm_set_outcome``, in the C order."""
    return (
        text("call_id", call_id),
        text("account_number", account_number),
        outcome_id(outcome_id_value),
        number("lead_score", lead_score),
        text("user_id", user_id),
        text("agent_comments", agent_comments),
        number("target_amount", target_amount),
    )
