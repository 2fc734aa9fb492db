"""How does a Python user set the option that a ``ConfigError`` names?

The library's messages name the option ("configure the 'endpoint' option"), never
a way to set it, since every language sets options its own way. This module turns
such a message into the Python way for the client that raised it: a
:class:`~lcm_outcome.Client` (its keyword arguments and ``configure``) or the
process-wide default client (``lcm_outcome.configure`` and the ``LCM_<KEY>``
environment variables, which only it reads).
"""

from __future__ import annotations

import re
from typing import Callable, Optional

#: Makes the hint for a library message, or ``None`` when it names no option.
Hinter = Callable[[str], Optional[str]]

# The library's two wordings of "this option needs a value": "configure the
# 'endpoint' option" (no endpoint; a bad LCM_<KEY> variable) and "set the outbox
# option" (flush or count without an outbox). A message that names an option in
# neither form gets no hint, rather than a guess.
_NAMED_OPTION = re.compile(r"\bconfigure the '([a-z_]+)' option\b|\bset the ([a-z_]+) option\b")


def option_named(message: str) -> Optional[str]:
    """The option a library message asks to set, or ``None``."""
    found = _NAMED_OPTION.search(message)
    if found is None:
        return None
    return found.group(1) or found.group(2)


def env_var(option: str) -> str:
    """The environment variable the default client reads for ``option``."""
    return f"LCM_{option.upper()}"


def for_client(message: str) -> Optional[str]:
    """The hint for a :class:`~lcm_outcome.Client`'s error."""
    option = option_named(message)
    if option is None:
        return None
    hint = f"pass {option}=... to lcm_outcome.Client() or call client.configure({option!r}, ...)"
    # "the default client also reads LCM_ENDPOINT": true, but not of this client.
    if env_var(option) in message:
        hint += f" (a Client does not read {env_var(option)})"
    return hint


def for_default_client(message: str) -> Optional[str]:
    """The hint for an error of the module-level functions (the default client)."""
    option = option_named(message)
    if option is None:
        return None
    hint = f"call lcm_outcome.configure({option!r}, ...)"
    # When the variable is what is wrong, the message already says to fix it.
    if f"environment variable {env_var(option)}" not in message:
        hint += f" or set {env_var(option)}"
    return hint
