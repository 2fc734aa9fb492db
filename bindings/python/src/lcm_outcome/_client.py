"""``Client``: an independent ``lcm_client`` that threads share and close safely."""

from __future__ import annotations

import os
import threading
import weakref
from types import TracebackType
from typing import Optional, Type, Union

from . import _arguments, _hints, _logs, _results
from ._arguments import Number, OptionValue
from ._errors import LCM_OK, ClientClosedError, InternalError
from ._hints import Hinter
from ._library import Library, find_and_load, load_library
from ._results import FlushResult, OutboxCount, SetOutcomeResult

OPTIONS_DOC = """
    Options (all optional; an empty string restores the default):

    - ``endpoint``: ``http://`` or ``https://`` URL of the LCM web service. No
      default: calls fail with :class:`ConfigError` until it is set. User info
      (``user:pass@``) is refused: credentials go in ``auth``.
    - ``source``: the envelope's ``source``, the sending application's name
      (default ``"lcm-outcome"``).
    - ``timeout_ms``: deadline of the whole call, retries included, 1 to 3600000
      (default 10000).
    - ``connect_timeout_ms``: limit of each connection attempt, 1 to 3600000
      (default 3000).
    - ``retries``: extra attempts, 0 to 10 (default 2), only when the request was
      provably not delivered (connect failure) or LCM answered 503 or 429.
    - ``auth``: the ``Authorization`` header's value, e.g. ``"Bearer ..."``; never
      logged or echoed in messages (default none).
    - ``tls_roots``: which CAs HTTPS trusts besides ``ca_file``: ``"system"``
      (default: the operating system's store, replaced by ``SSL_CERT_FILE``/
      ``SSL_CERT_DIR`` when set), ``"webpki"`` (the built-in Mozilla roots) or ``"none"`` (only
      ``ca_file``).
    - ``ca_file``: PEM file of CA certificates trusted for HTTPS *in addition to*
      ``tls_roots``; each must be a CA certificate (an expired one is left out).
    - ``proxy``: ``http://host:port`` or ``https://host:port``; ``"none"`` connects
      directly. Default: the first of ``ALL_PROXY``, ``HTTPS_PROXY``,
      ``HTTP_PROXY`` that is set, minus hosts in ``NO_PROXY``.
    - ``log_level``: ``off``, ``error``, ``warn`` (default), ``info``, ``debug``,
      ``trace`` (bodies, i.e. agent comments); lines go to stderr, or to
      :func:`set_log_handler`'s handler.
    - ``outbox``: path of an SQLite file (created when missing, in a directory
      that exists) where outcomes LCM did not confirm for a reason that may pass
      wait for later delivery; ``set_outcome`` then returns :class:`Queued`
      instead of raising. Default none: nothing is stored.
    - ``outbox_mode``: ``fallback`` (default: send now, queue only when that
      fails for a reason that may pass) or ``always`` (store and return
      :class:`Queued` at once; a background sender delivers).
    - ``outbox_retry_ms``: how often the background sender tries pending
      outcomes (default 30000); ``0``: no sender, only :meth:`Client.flush`
      delivers.
    - ``outbox_max_age_s``: after this an undelivered outcome is given up, moved
      to the dead letters and logged at ``error`` (default 604800, a week).
"""

OUTCOME_DOC = """
    Arguments:
        call_id: the dialer's call id (``callid``); mandatory, non-empty.
        account_number: the contact's LCM key (``AccountNumber``); mandatory.
        outcome_id: the telephony outcome (``OutcomeId``), ``str`` or ``int``;
            mandatory. A canonical decimal integer (``1``, ``"1"``) goes on the
            wire as a JSON number, any other text as a JSON string.
        user_id: the agent's id (``UserID``); mandatory, keyword-only.
        lead_score: ``LeadScore``, a finite number (default 0).
        agent_comments: ``AgentComments``, any Unicode text, may be ``""``.
        target_amount: ``TargetAmount``, a finite number (default 0).

    Every string is at most 64 KiB of UTF-8 and may not contain NUL. Returns
    :class:`Delivered` when LCM answered ``success: true`` for this call id, and
    :class:`Queued` (``.queued`` is true; ``.entry_id``, ``.message`` say where and
    why) when the ``outbox`` option is set and the outcome is stored there for
    later delivery: that is not a failure, nothing is left for the caller to do.
    Otherwise raises the :class:`LcmError` subclass of the failure. Returns within
    ``timeout_ms`` (retries included); other Python threads run meanwhile.

    Raises:
        TypeError: an argument of the wrong type (nothing was sent).
        InvalidArgumentError, ConfigError: nothing was sent.
        ConnectError: not delivered; safe to send again (with an outbox: only when
            it could not be stored either; the message says why).
        LcmTimeoutError, BadResponseError: the outcome may or may not be recorded.
        HttpStatusError, RejectedError, InternalError: see each class.
"""

FLUSH_DOC = """
    Delivers the outbox's pending outcomes now, oldest first, in this thread, until
    none is left or ``timeout_ms`` (default 10000, like a call's) passes. Entries
    LCM confirms leave the outbox; entries LCM rejects become dead letters.

    Returns a :class:`FlushResult` ``(delivered, pending, dead)`` when nothing is
    left pending. Otherwise raises the status of the last failed delivery
    (:class:`ConnectError` while LCM is down, :class:`LcmTimeoutError` also when
    ``timeout_ms`` ran out or entries are being sent elsewhere), whose
    ``flush_result`` holds the counts.

    Raises:
        ConfigError: no ``outbox`` option, or its file cannot be used.
        InvalidArgumentError: a negative ``timeout_ms``.
        TypeError: ``timeout_ms`` is not an ``int``.
"""

COUNT_DOC = """
    Counts the outbox without sending anything: an :class:`OutboxCount`
    ``(pending, dead)``.

    Raises:
        ConfigError: no ``outbox`` option, or its file cannot be read.
"""

LibraryChoice = Union[Library, str, "os.PathLike[str]", None]


def check_status(library: Library, status: int, message: str, hinter: Hinter) -> None:
    """Raises the :class:`LcmError` subclass of ``status`` unless it is ``LCM_OK``: the
    status handling of the default client and of :class:`Client` alike, each with its
    own ``hinter``."""
    if status != LCM_OK:
        raise _results.library_error(library, status, message, hinter)


class Client:
    """An independent LCM client: its own options and connection pool.

    Use it from any number of threads at once. ``close()`` (or leaving a ``with``
    block) may run while other threads are inside calls: those calls finish
    normally and the C client is freed when the last one returns; calls started
    after ``close()`` raise :class:`ClientClosedError`.

    Unlike the module-level functions, a ``Client`` does not read ``LCM_<KEY>``
    environment variables: give it its options here or with :meth:`configure`.

    ``library`` is the :class:`Library` to use, or a path to load one from
    (default: :func:`load_library`'s).
    """

    __doc__ = (__doc__ or "") + OPTIONS_DOC

    def __init__(
        self,
        *,
        endpoint: Optional[str] = None,
        source: Optional[str] = None,
        timeout_ms: Optional[OptionValue] = None,
        connect_timeout_ms: Optional[OptionValue] = None,
        retries: Optional[OptionValue] = None,
        auth: Optional[str] = None,
        tls_roots: Optional[str] = None,
        ca_file: Optional[Union[str, "os.PathLike[str]"]] = None,
        proxy: Optional[str] = None,
        log_level: Optional[str] = None,
        outbox: Optional[Union[str, "os.PathLike[str]"]] = None,
        outbox_mode: Optional[str] = None,
        outbox_retry_ms: Optional[OptionValue] = None,
        outbox_max_age_s: Optional[OptionValue] = None,
        library: LibraryChoice = None,
    ) -> None:
        if library is None:
            library = load_library()
        elif not isinstance(library, Library):
            library = find_and_load(library)
        self._lib = library
        handle, message = library.client_new()
        if not handle:
            raise InternalError(f"lcm_client_new failed: {message}")
        self._handle: int = handle
        self._lock = threading.Lock()
        self._calls_in_flight = 0
        self._closed = False
        # Frees the handle once: at close() when idle, after the last call in flight,
        # or when the Client is collected. Not at interpreter exit, when daemon
        # threads may still be inside a call.
        self._free = weakref.finalize(self, library.client_free, handle)
        self._free.atexit = False

        options = {
            "endpoint": endpoint,
            "source": source,
            "timeout_ms": timeout_ms,
            "connect_timeout_ms": connect_timeout_ms,
            "retries": retries,
            "auth": auth,
            "tls_roots": tls_roots,
            "ca_file": ca_file,
            "proxy": proxy,
            "log_level": log_level,
            # The outbox's settings before the file: opening a file that holds a
            # backlog starts the background sender with the settings in force then.
            "outbox_mode": outbox_mode,
            "outbox_retry_ms": outbox_retry_ms,
            "outbox_max_age_s": outbox_max_age_s,
            "outbox": outbox,
        }
        try:
            for key, value in options.items():
                if value is not None:
                    self.configure(key, value)
        except BaseException:
            self.close()
            raise

    @property
    def library(self) -> Library:
        """The library this client runs on."""
        return self._lib

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def configure(self, key: str, value: OptionValue) -> None:
        """Sets option ``key`` to ``value`` (``str``, or ``int`` for numbers).

        Calls already running keep the options they started with.

        Raises:
            ConfigError: unknown key or bad value; the option is unchanged.
            InvalidArgumentError: ``key`` or ``value`` is not valid text.
            ClientClosedError: the client is closed.
        """
        key_bytes, value_bytes = _arguments.option(key, value)
        handle = self._enter()
        try:
            status, message = self._lib.client_configure(handle, key_bytes, value_bytes)
        finally:
            self._leave()
        check_status(self._lib, status, message, _hints.for_client)

    configure.__doc__ = (configure.__doc__ or "") + OPTIONS_DOC

    def set_outcome(
        self,
        call_id: str,
        account_number: str,
        outcome_id: Union[str, int],
        *,
        user_id: str,
        lead_score: Number = 0,
        agent_comments: str = "",
        target_amount: Number = 0,
    ) -> SetOutcomeResult:
        """Records the telephony outcome of call ``call_id`` in LCM, synchronously."""
        _logs.refuse_inside_handler("set_outcome")
        args = _arguments.outcome(
            call_id, account_number, outcome_id, lead_score, user_id, agent_comments, target_amount
        )
        handle = self._enter()
        try:
            status, message = self._lib.client_set_outcome(handle, *args)
        finally:
            self._leave()
        return _results.outcome_result(self._lib, status, message, _hints.for_client)

    set_outcome.__doc__ = (set_outcome.__doc__ or "") + OUTCOME_DOC

    def flush(self, timeout_ms: int = 10000) -> FlushResult:
        """Delivers this client's outbox now (``lcm_client_outbox_flush``)."""
        timeout = _results.timeout_arg(timeout_ms)
        handle = self._enter()
        try:
            status, message, counts = self._lib.client_outbox_flush(handle, timeout)
        finally:
            self._leave()
        return _results.flush_result(self._lib, status, message, counts, _hints.for_client)

    flush.__doc__ = (flush.__doc__ or "") + FLUSH_DOC

    def outbox_count(self) -> OutboxCount:
        """What this client's outbox holds (``lcm_client_outbox_count``)."""
        handle = self._enter()
        try:
            status, message, counts = self._lib.client_outbox_count(handle)
        finally:
            self._leave()
        return _results.count_result(self._lib, status, message, counts, _hints.for_client)

    outbox_count.__doc__ = (outbox_count.__doc__ or "") + COUNT_DOC

    def close(self) -> None:
        """Releases the client and its connections. Safe to call more than once and
        while other threads are inside calls (the last of them frees the client)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle = self._calls_in_flight == 0
        if idle:
            self._free()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<lcm_outcome.Client {'closed' if self._closed else 'open'}>"

    def _enter(self) -> int:
        with self._lock:
            if self._closed:
                raise ClientClosedError("the client is closed")
            self._calls_in_flight += 1
            return self._handle

    def _leave(self) -> None:
        with self._lock:
            self._calls_in_flight -= 1
            last = self._closed and self._calls_in_flight == 0
        if last:
            self._free()
