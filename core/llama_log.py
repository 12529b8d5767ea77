"""llama.cpp's own log: one process-wide callback, fanned out to whoever listens.

llama.cpp keeps one log callback per process. Fireside installs a single ctypes thunk here (it
must outlive every listener: a freed thunk is a segfault on llama.cpp's next log line, so it is
held at module level for the life of the process) and forwards each line to the listeners still
alive (weakly held): the hardware panel's buffer sizes (:mod:`fireside.core.hardware.measure`)
and :class:`LlamaLog`. Warnings and errors also go to the ``fireside.llama`` logger, so the log
file holds them; llama-cpp-python's own printer, which this replaces, prints to a stderr it
silences during a load.

:class:`LlamaLog` keeps the recent warnings and errors, numbered, for the question a failed
load raises: llama-cpp-python turns every failure into one of two sentences ("Failed to load
model from file", "Failed to create llama_context"), while llama.cpp said why ("failed to
allocate buffer for kv cache", "insufficient memory (attempted to allocate 439453.12 MB)").
"""

from __future__ import annotations

import ctypes
import logging
import re
import threading
import weakref
from collections import deque
from typing import Any, Protocol

log = logging.getLogger("fireside.llama")
# ggml.h's enum ggml_log_level (llama-cpp-python's _logger.py documents an older numbering)
DEBUG, INFO, WARN, ERROR, CONT = 1, 2, 3, 4, 5
_LOGGED = {WARN: logging.WARNING, ERROR: logging.ERROR}
_PREFIX = re.compile(r"^[A-Za-z_][\w:]*: ")  # "llama_init_from_model: " and the like
KEEP = 64


class Listener(Protocol):
    def feed(self, level: int, text: str) -> None: ...


_listeners: weakref.WeakSet[Any] = weakref.WeakSet()
_thunk: list[Any] = []
_thunk_lock = threading.Lock()
_last_level = [INFO]


def _dispatch(level: int, text: str) -> None:
    if level == CONT:
        level = _last_level[0]
    _last_level[0] = level
    if level in _LOGGED and text.strip():
        log.log(_LOGGED[level], "%s", text.rstrip())
    for listener in list(_listeners):
        listener.feed(level, text)


def _install() -> bool:
    """The process's one thunk, installed as llama.cpp's log callback (under ``_thunk_lock``)."""
    if not _thunk:
        try:
            import llama_cpp  # its import installs llama-cpp-python's printer; ours replaces it
        except Exception:  # noqa: BLE001 - no llama.cpp here: nothing to listen to
            return False

        @llama_cpp.llama_log_callback
        def on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
            try:
                _dispatch(level, text.decode("utf-8", "replace"))
            except Exception:  # noqa: BLE001, S110 - never raise into C
                pass

        _thunk.append(on_log)
        llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))
    return True


def attach(listener: Listener) -> bool:
    """Route llama.cpp's log to ``listener.feed(level, text)`` (CONT resolved to the level it
    continues) while ``listener`` lives. Imports llama_cpp (~0.2 s the first time): call it
    off the GUI thread. False when llama_cpp cannot be imported."""
    with _thunk_lock:
        if not _install():
            return False
        _listeners.add(listener)
    return True


def route_mtmd() -> None:
    """The vision library (mtmd) logs through callbacks of its own, printing to stderr until
    told otherwise: it gets the same thunk, so its warnings reach the log file, not a console."""
    with _thunk_lock:
        if _install() and len(_thunk) == 1:
            from llama_cpp import mtmd_cpp

            mtmd_cpp.mtmd_log_set(_thunk[0], ctypes.c_void_p(0))
            mtmd_cpp.mtmd_helper_log_set(_thunk[0], ctypes.c_void_p(0))
            _thunk.append(None)  # marks mtmd as routed; _thunk[0] stays the one callback


class LlamaLog:
    """The numbered tail of llama.cpp's warnings and errors; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: deque[tuple[int, int, str]] = deque(maxlen=KEEP)  # (number, level, text)
        self._count = 0
        self._partial = ""

    def install(self) -> bool:
        """Start listening (idempotent); see :func:`attach`."""
        return attach(self)

    def feed(self, level: int, text: str) -> None:
        """One call of llama.cpp's callback: a line, or a part of one."""
        if level not in (WARN, ERROR):
            return
        with self._lock:
            self._partial += text
            if not self._partial.endswith("\n"):
                return
            line, self._partial = self._partial.strip(), ""
            if line:
                self._count += 1
                self._lines.append((self._count, level, line))

    def mark(self) -> int:
        """A position: :meth:`reason` only looks at what llama.cpp said after it."""
        with self._lock:
            return self._count

    def errors_since(self, mark: int) -> list[str]:
        with self._lock:
            return [text for number, level, text in self._lines
                    if number > mark and level == ERROR]

    def reason(self, mark: int) -> str:
        """llama.cpp's own words for what went wrong since ``mark``, in one line ("" if none).

        Its last error names what failed ("failed to initialize the context: failed to
        allocate buffer for kv cache"), its first the root cause ("insufficient memory
        (attempted to allocate 439453.12 MB)"); both, without the C function names.
        """
        errors = [_PREFIX.sub("", line) for line in self.errors_since(mark)]
        if not errors:
            return ""
        if len(errors) == 1 or errors[0] == errors[-1]:
            return errors[-1]
        return f"{errors[-1]} ({errors[0]})"


_shared: list[LlamaLog] = []


def shared() -> LlamaLog:
    """The process's LlamaLog (cheap: it listens from :meth:`LlamaLog.install` on).

    The composition root takes it from here and hands it down; it is module-level only
    because llama.cpp's log is."""
    with _thunk_lock:
        if not _shared:
            _shared.append(LlamaLog())
        return _shared[0]
