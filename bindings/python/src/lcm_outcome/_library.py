"""Finding liblcm_outcome, loading it with ctypes, and declaring its C functions."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from typing import Callable, List, Optional, Tuple, Union

__all__ = [
    "LCM_ERROR_SIZE",
    "LOG_CALLBACK",
    "LIBRARY_ENV_VAR",
    "Library",
    "LibraryNotFoundError",
    "load_library",
]

#: Bytes of an error buffer that never truncate a message of the library.
LCM_ERROR_SIZE = 512

#: The environment variable naming the library file (or its directory).
LIBRARY_ENV_VAR = "LCM_OUTCOME_LIB"

# The C API's major version this binding is written against: a library of another
# major version may have other signatures, and calling it could corrupt memory.
_ABI_MAJOR = 0

_StrPath = Union[str, "os.PathLike[str]"]


def library_file_name() -> str:
    """The library's file name on this platform."""
    if sys.platform == "win32":
        return "lcm_outcome.dll"
    if sys.platform == "darwin":
        return "liblcm_outcome.dylib"
    return "liblcm_outcome.so"


class LibraryNotFoundError(OSError):
    """No usable liblcm_outcome was found.

    ``attempts`` lists each place that was tried, in order, as ``(place, reason)``
    pairs; the message shows them all.
    """

    def __init__(self, attempts: List[Tuple[str, str]]) -> None:
        self.attempts = list(attempts)
        places = "\n".join(f"  - {place}: {reason}" for place, reason in self.attempts)
        super().__init__(
            "cannot load the lcm_outcome library "
            f"({library_file_name()}); looked in:\n{places}\n"
            f"Set {LIBRARY_ENV_VAR} to the library's path, or pass it to "
            "lcm_outcome.load_library()."
        )

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.attempts,))


_ERR = ctypes.POINTER(ctypes.c_char)
_STR = ctypes.c_char_p
_OUTCOME_ARGS = [
    _STR,  # call_id
    _STR,  # account_number
    _STR,  # outcome_id
    ctypes.c_double,  # lead_score
    _STR,  # user_id
    _STR,  # agent_comments
    ctypes.c_double,  # target_amount
    _ERR,
    ctypes.c_size_t,
]

# A size_t out-parameter of the outbox functions.
_COUNT = ctypes.POINTER(ctypes.c_size_t)
_FLUSH_ARGS = [ctypes.c_int32, _COUNT, _COUNT, _COUNT, _ERR, ctypes.c_size_t]
_COUNT_ARGS = [_COUNT, _COUNT, _ERR, ctypes.c_size_t]

#: ``lcm_log_callback``: ``void (*)(int32_t level, const char *message, void *user)``.
LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int32, _STR, ctypes.c_void_p)

# name: (restype, argtypes), exactly as in include/lcm_outcome.h.
_PROTOTYPES = {
    "lcm_version": (_STR, []),
    "lcm_status_name": (_STR, [ctypes.c_int32]),
    "lcm_configure": (ctypes.c_int32, [_STR, _STR, _ERR, ctypes.c_size_t]),
    "lcm_set_outcome": (ctypes.c_int32, _OUTCOME_ARGS),
    "lcm_client_new": (ctypes.c_void_p, [_ERR, ctypes.c_size_t]),
    "lcm_client_configure": (
        ctypes.c_int32,
        [ctypes.c_void_p, _STR, _STR, _ERR, ctypes.c_size_t],
    ),
    "lcm_client_set_outcome": (ctypes.c_int32, [ctypes.c_void_p] + _OUTCOME_ARGS),
    "lcm_client_free": (None, [ctypes.c_void_p]),
    "lcm_set_log_callback": (None, [LOG_CALLBACK, ctypes.c_void_p]),
    "lcm_outbox_flush": (ctypes.c_int32, _FLUSH_ARGS),
    "lcm_client_outbox_flush": (ctypes.c_int32, [ctypes.c_void_p] + _FLUSH_ARGS),
    "lcm_outbox_count": (ctypes.c_int32, _COUNT_ARGS),
    "lcm_client_outbox_count": (ctypes.c_int32, [ctypes.c_void_p] + _COUNT_ARGS),
}


class _NotTheLibrary(Exception):
    """A file loaded, but it is not a liblcm_outcome this binding can use."""


class Library:
    """A loaded liblcm_outcome with every C function's signature declared.

    Obtain one with :func:`load_library`. Its methods are thin: they take already
    encoded arguments and return ``(status, message)``; the public API lives in
    :class:`lcm_outcome.Client` and the module-level functions.
    """

    def __init__(self, cdll: ctypes.CDLL, path: str, found_by: str) -> None:
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                function = getattr(cdll, name)
            except AttributeError:
                raise _NotTheLibrary(f"loaded, but it has no function {name}") from None
            function.restype = restype
            function.argtypes = argtypes
        self._c = cdll
        #: What was loaded: a file path, or a bare name the system resolved.
        self.path = path
        #: Which step of the search found it.
        self.found_by = found_by
        version = self.version()
        major = version.split(".", 1)[0]
        if major != str(_ABI_MAJOR):
            raise _NotTheLibrary(f"loaded version {version}, but this binding needs {_ABI_MAJOR}.x")

    def __repr__(self) -> str:
        return f"<lcm_outcome.Library {self.version()} from {self.path!r}>"

    def version(self) -> str:
        """``lcm_version()``: the library's ``"MAJOR.MINOR.PATCH"``."""
        version: bytes = self._c.lcm_version()
        return version.decode("ascii")

    def status_name(self, status: int) -> str:
        """``lcm_status_name()``: ``"LCM_OK"``, ..., ``"LCM_UNKNOWN_STATUS"``."""
        name: bytes = self._c.lcm_status_name(status)
        return name.decode("ascii")

    def configure(self, key: bytes, value: bytes) -> Tuple[int, str]:
        err = ctypes.create_string_buffer(LCM_ERROR_SIZE)
        status = self._c.lcm_configure(key, value, err, LCM_ERROR_SIZE)
        return status, _text(err)

    def set_outcome(self, *args: object) -> Tuple[int, str]:
        err = ctypes.create_string_buffer(LCM_ERROR_SIZE)
        status = self._c.lcm_set_outcome(*args, err, LCM_ERROR_SIZE)
        return status, _text(err)

    def client_new(self) -> Tuple[Optional[int], str]:
        err = ctypes.create_string_buffer(LCM_ERROR_SIZE)
        handle = self._c.lcm_client_new(err, LCM_ERROR_SIZE)
        return handle, _text(err)

    def client_configure(self, handle: int, key: bytes, value: bytes) -> Tuple[int, str]:
        err = ctypes.create_string_buffer(LCM_ERROR_SIZE)
        status = self._c.lcm_client_configure(handle, key, value, err, LCM_ERROR_SIZE)
        return status, _text(err)

    def client_set_outcome(self, handle: int, *args: object) -> Tuple[int, str]:
        err = ctypes.create_string_buffer(LCM_ERROR_SIZE)
        status = self._c.lcm_client_set_outcome(handle, *args, err, LCM_ERROR_SIZE)
        return status, _text(err)

    def client_free(self, handle: int) -> None:
        self._c.lcm_client_free(handle)

    def outbox_flush(self, timeout_ms: int) -> Tuple[int, str, Tuple[int, ...]]:
        """``(status, message, (delivered, pending, dead))``."""
        return _with_counts(3, lambda *out: self._c.lcm_outbox_flush(timeout_ms, *out))

    def client_outbox_flush(
        self, handle: int, timeout_ms: int
    ) -> Tuple[int, str, Tuple[int, ...]]:
        return _with_counts(
            3, lambda *out: self._c.lcm_client_outbox_flush(handle, timeout_ms, *out)
        )

    def outbox_count(self) -> Tuple[int, str, Tuple[int, ...]]:
        """``(status, message, (pending, dead))``."""
        return _with_counts(2, lambda *out: self._c.lcm_outbox_count(*out))

    def client_outbox_count(self, handle: int) -> Tuple[int, str, Tuple[int, ...]]:
        return _with_counts(2, lambda *out: self._c.lcm_client_outbox_count(handle, *out))

    def set_log_callback(self, callback: Optional["ctypes._CFuncPtr"]) -> None:
        """``lcm_set_log_callback(callback, NULL)``; ``None`` restores stderr. The
        caller keeps ``callback`` alive while it is installed. Like every call here
        it releases the GIL, which the callbacks it waits for may need."""
        # A CFUNCTYPE argument does not accept None; its empty instance is NULL.
        self._c.lcm_set_log_callback(callback if callback is not None else LOG_CALLBACK(), None)


def _with_counts(n: int, call: Callable[..., int]) -> Tuple[int, str, Tuple[int, ...]]:
    """Calls ``call(count_1, ..., count_n, err, err_len)`` with ``n`` size_t
    out-parameters; returns the status, the message and the counts."""
    counts = [ctypes.c_size_t(0) for _ in range(n)]
    err = ctypes.create_string_buffer(LCM_ERROR_SIZE)
    status = call(*(ctypes.byref(c) for c in counts), err, LCM_ERROR_SIZE)
    return status, _text(err), tuple(c.value for c in counts)


def _text(buffer: "ctypes.Array[ctypes.c_char]") -> str:
    # The library cuts at character boundaries; "replace" only guards against a bug.
    return buffer.value.decode("utf-8", errors="replace")


def _explicit_file(path: str) -> str:
    path = os.path.abspath(path)
    if os.path.isdir(path):
        return os.path.join(path, library_file_name())
    return path


def _try_load(place: str, path: str, attempts: List[Tuple[str, str]]) -> Optional[Library]:
    try:
        return Library(ctypes.CDLL(path), path, place)
    except (OSError, _NotTheLibrary) as e:
        attempts.append((f"{place} ({path})", str(e) or type(e).__name__))
        return None


def find_and_load(path: Optional[_StrPath] = None) -> Library:
    """Loads the library without touching the process-wide one (see load_library)."""
    attempts: List[Tuple[str, str]] = []
    # An explicit choice (argument or environment) is the only candidate: falling back
    # to another copy would hide the mistake and may load another version.
    if path is not None:
        explicit: Optional[Tuple[str, str]] = ("the path argument", os.fspath(path))
    elif os.environ.get(LIBRARY_ENV_VAR):
        explicit = (f"${LIBRARY_ENV_VAR}", os.environ[LIBRARY_ENV_VAR])
    else:
        explicit = None
    if explicit is not None:
        place, given = explicit
        file = _explicit_file(given)
        if not os.path.exists(file):
            attempts.append((f"{place} ({file})", "no such file"))
        else:
            library = _try_load(place, file, attempts)
            if library is not None:
                return library
        raise LibraryNotFoundError(attempts)

    # The library pip built into the package, the one this code was installed with.
    name = library_file_name()
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    if os.path.exists(beside):
        library = _try_load("next to the package", beside, attempts)
        if library is not None:
            return library
    else:
        attempts.append((f"next to the package ({beside})", "no such file"))

    # A bare name: the dynamic loader searches LD_LIBRARY_PATH (DYLD_*), its cache
    # and the system directories; on Windows (Python 3.8 and later) the program's
    # folder, System32 and os.add_dll_directory() folders, not PATH.
    library = _try_load("the system's library search path", name, attempts)
    if library is not None:
        return library

    found = ctypes.util.find_library("lcm_outcome")
    if found is None:
        attempts.append(("ctypes.util.find_library('lcm_outcome')", "found nothing"))
    elif found != name:
        library = _try_load("ctypes.util.find_library('lcm_outcome')", found, attempts)
        if library is not None:
            return library
    raise LibraryNotFoundError(attempts)


_default_lock = threading.Lock()
_default: Optional[Library] = None


def load_library(path: Optional[_StrPath] = None) -> Library:
    """Loads liblcm_outcome once per process and returns it.

    The module-level functions and every :class:`~lcm_outcome.Client` created
    without ``library=`` use this library. The first call that succeeds decides
    which file it is; call this before anything else to choose the file in code.

    Where it looks, in order, stopping at the first that loads:

    1. ``path``, when given: the library file, or a directory holding it;
    2. otherwise the ``LCM_OUTCOME_LIB`` environment variable, the same way;
    3. otherwise the library bundled in the package: ``liblcm_outcome.so``
       (``.dylib``, ``lcm_outcome.dll``) in its own directory, where
       ``pip install`` and the wheel put it;
    4. then the system's search path: the dynamic loader's (``LD_LIBRARY_PATH``
       and its cache on Linux; on Windows the program's folder, System32 and the
       folders given to ``os.add_dll_directory``), then
       ``ctypes.util.find_library`` (which on Windows searches ``PATH``).

    An explicit choice (1 or 2) replaces the bundled library (with a debug build,
    say), and when it fails that is an error: no other copy is tried.

    Raises:
        LibraryNotFoundError: nothing loaded; the message lists every place tried
            and why each failed.
        ValueError: a different library file is already loaded in this process.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = find_and_load(path)
        elif path is not None and not _same_file(_explicit_file(os.fspath(path)), _default.path):
            raise ValueError(
                f"lcm_outcome already uses the library {_default.path!r} in this "
                f"process; it cannot switch to {os.fspath(path)!r}"
            )
        return _default


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b
