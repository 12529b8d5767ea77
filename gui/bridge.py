"""The one QObject between the window and everything slow (engine, disk, network).

Views call :meth:`Bridge.submit` for chores and :meth:`Bridge.relay` to get a thread-safe
callable back onto the GUI thread; the chat pane uses :meth:`Bridge.chat`, :meth:`Bridge.stop`
and :meth:`Bridge.load_model`. Engine work runs in one QThread (GPT4All's ChatLLM pattern):
requests go over queued signals, results come back as signals carrying a request id, and stop is
a :class:`CancelToken` set directly from the GUI thread because the worker's loop is busy.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from fireside.core.context import AppContext
from fireside.core.inference.engine import LoadedModel
from fireside.core.inference.types import CancelToken, LoadSettings, SamplingParams
from fireside.gui.lifetime import GuiThreadCollector
from fireside.gui.workers import ChatWorker, TaskPool, TokenBuffer, user_message

log = logging.getLogger("fireside.gui.bridge")
FLUSH_MS = 80  # 12.5 flushes a second: on 2 cores each costs decode speed (bench/gui_latency.py)
LOAD_TICK_MS = 200
THREAD_WAIT_MS = 15000
_Task = tuple[Callable[[], Any], Callable[[Any], None] | None, Callable[[str], None] | None]


class _Invoker(QObject):
    """Lives on the GUI thread; runs what workers post to it, there, until it is closed.

    Workers post through :meth:`post` under a lock that :meth:`close` takes too, so once the
    bridge has shut down nothing emits on this object again (it may be deleted right after).
    It also keeps the callables of background tasks (``pending``), so that only the GUI thread
    ever drops them: a widget whose last reference died in a worker would be destroyed there.
    """

    call = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.alive = True
        self._lock = threading.Lock()
        self.pending: dict[int, _Task] = {}
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def post(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Any thread: queue ``fn(*args)`` for the GUI thread; dropped once closed."""
        with self._lock:
            if self.alive:
                self.call.emit(fn, args)

    def close(self) -> None:
        """GUI thread: no more posts; queued calls are dropped; task callables let go here."""
        with self._lock:
            self.alive = False
        self.pending.clear()

    @Slot(object, object)
    def _run(self, fn: object, args: object) -> None:
        if not self.alive or not _target_alive(fn):
            return
        try:
            fn(*args)  # type: ignore[operator, misc]
        except Exception:
            log.exception("GUI callback failed")

    def settle(self, task_id: int, result: Any, error: str | None) -> None:
        entry = self.pending.pop(task_id, None)
        if entry is None:
            return
        _fn, on_done, on_error = entry
        if error is None:
            if on_done is not None and _target_alive(on_done):
                on_done(result)
        elif on_error is not None:
            if _target_alive(on_error):
                on_error(error)
        else:
            log.warning("background task failed: %s", error)


def _target_alive(fn: object) -> bool:
    """False for a bound method of a widget that is already deleted (a closed dialog, a row
    removed meanwhile): its late callback is dropped rather than raising in the GUI thread."""
    owner = getattr(fn, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)


class Bridge(QObject):
    """Owns the worker threads; see the module docstring for the contract."""

    token_ready = Signal(int, str)  # request id, text since the last flush
    finished = Signal(int, object)  # request id, Completion (text, finish_reason, stats)
    failed = Signal(int, str)  # request id, one-line message
    cancelled = Signal(int, object)  # request id, partial Completion or None
    load_started = Signal(int, str)  # request id, model name
    load_progress = Signal(int, float)  # request id, seconds elapsed (llama.cpp gives no %)
    model_loaded = Signal(int, object)  # request id, LoadedModel (None after an unload)
    load_failed = Signal(int, str)
    context_overflow = Signal(int, int, int)  # request id, prompt tokens, context (then failed)
    trimmed = Signal(int, int, int)  # request id, messages left out, prompt tokens (fit only)
    reading = Signal(int, int, int)  # request id, prompt tokens read, of how many

    _req_chat = Signal(int, object, object, object, bool)
    _req_load = Signal(int, object, object, str)
    _req_unload = Signal(int)

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._ids = itertools.count(1)
        self._closed = False
        self._cleanups: list[Callable[[], None]] = []
        # GC runs on the GUI thread only while our worker threads live (see gui/lifetime.py).
        self._collector = GuiThreadCollector(self)
        self._collector.start()
        self._invoker = _Invoker(self)
        self._pool = TaskPool()
        self._tokens = TokenBuffer()
        self._active: dict[int, CancelToken] = {}
        self._loading: dict[int, float] = {}

        self._thread = QThread(self)
        self._thread.setObjectName("fireside-engine")
        self._worker = ChatWorker(ctx.engine, self._tokens)
        self._worker.moveToThread(self._thread)
        # The worker has no parent (it lives in another thread): it is deleted in its own
        # thread when that thread ends, not by a garbage collection in some other one.
        self._thread.finished.connect(self._worker.deleteLater)
        queued = Qt.ConnectionType.QueuedConnection
        self._req_chat.connect(self._worker.chat, queued)
        self._req_load.connect(self._worker.load, queued)
        self._req_unload.connect(self._worker.unload, queued)
        self._worker.done.connect(self._on_done, queued)
        self._worker.error.connect(self._on_error, queued)
        self._worker.stopped.connect(self._on_stopped, queued)
        self._worker.load_done.connect(self._on_loaded, queued)
        self._worker.load_error.connect(self._on_load_error, queued)
        self._worker.overflow.connect(self._on_overflow, queued)
        self._worker.trimmed.connect(self._on_trimmed, queued)
        self._thread.start()

        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self._load_timer = QTimer(self)
        self._load_timer.setInterval(LOAD_TICK_MS)
        self._load_timer.timeout.connect(self._tick_load)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- generic chores ------------------------------------------------------------------
    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None) -> None:
        """Run ``fn()`` on a worker thread; callbacks run later on the GUI thread.

        The callables often hold widgets (bound methods, closures). The GUI thread keeps the
        only lasting references (the invoker's ``pending``) and drops them itself: a widget
        whose last reference died in a worker thread would be destroyed there, and Qt objects
        must die on their own thread. The worker's closure holds plain data and the invoker.
        """
        if self._closed:
            log.debug("submit after shutdown ignored")
            return
        task_id = next(self._ids)
        invoker = self._invoker
        invoker.pending[task_id] = (fn, on_done, on_error)

        def task() -> None:
            entry = invoker.pending.get(task_id)
            if entry is None:  # the bridge shut down before this task started
                return
            work = entry[0]
            del entry
            try:
                result, error = work(), None
            except BaseException as exc:  # noqa: BLE001 - reported to the caller
                result, error = None, user_message(exc)
            del work
            invoker.post(invoker.settle, (task_id, result, error))

        self._pool.put(task)

    def relay(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """A callable that, from any thread, queues ``fn(*args)`` onto the GUI thread.

        After :meth:`shutdown` it does nothing, so listeners left registered on core objects
        (engine, download queue, server) can never reach a deleted window.
        """
        post = self._invoker.post

        def relayed(*args: Any) -> None:
            post(fn, args)

        return relayed

    def on_shutdown(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the GUI thread when the bridge shuts down (last added, first run).

        For what a view starts that outlives a widget: listeners on the engine, a download
        queue's threads, a server. ``fn`` should not touch widgets (they may be gone).
        """
        if self._closed:
            fn()
        else:
            self._cleanups.append(fn)

    # -- chat ----------------------------------------------------------------------------
    def chat(self, messages: list[dict[str, Any]], params: SamplingParams,
             fit: bool = False) -> int:
        """Start a reply; tokens, then one of finished/failed/cancelled, carry the id.

        ``fit`` leaves out the oldest turns when the conversation outgrew the context (the
        ``trimmed`` signal says how many) instead of failing with ``context_overflow``.
        """
        req_id = next(self._ids)
        token = CancelToken()
        self._active[req_id] = token
        if not self._flush_timer.isActive():
            self._flush_timer.start()
        self._req_chat.emit(req_id, [dict(m) for m in messages], params, token, fit)
        return req_id

    def stop(self, req_id: int | None = None) -> None:
        """Stop one request (or all); takes effect between two tokens."""
        for rid, token in list(self._active.items()):
            if req_id is None or rid == req_id:
                token.cancel()

    @property
    def busy(self) -> bool:
        return bool(self._active) or bool(self._loading)

    def loaded_model(self) -> LoadedModel | None:
        """What the engine holds now (a plain read; the engine thread may change it)."""
        return self.ctx.engine.loaded

    @Slot()
    def _flush(self) -> None:
        for rid, (done, total) in self._tokens.drain_progress().items():
            if rid in self._active:
                self.reading.emit(rid, done, total)
        for rid, text in self._tokens.drain().items():
            if rid in self._active:  # stale ids (already finished) are dropped
                self.token_ready.emit(rid, text)

    def _finish(self, req_id: int) -> bool:
        self._flush()
        known = self._active.pop(req_id, None) is not None
        if not self._active:
            self._flush_timer.stop()
        return known

    @Slot(int, object)
    def _on_done(self, req_id: int, completion: object) -> None:
        if self._finish(req_id):
            self.finished.emit(req_id, completion)

    @Slot(int, str)
    def _on_error(self, req_id: int, message: str) -> None:
        if self._finish(req_id):
            self.failed.emit(req_id, message)

    @Slot(int, int, int)
    def _on_overflow(self, req_id: int, prompt_tokens: int, n_ctx: int) -> None:
        if req_id in self._active:
            self.context_overflow.emit(req_id, prompt_tokens, n_ctx)

    @Slot(int, int, int)
    def _on_trimmed(self, req_id: int, dropped: int, prompt_tokens: int) -> None:
        if req_id in self._active:
            self.trimmed.emit(req_id, dropped, prompt_tokens)

    @Slot(int, object)
    def _on_stopped(self, req_id: int, completion: object) -> None:
        if self._finish(req_id):
            self.cancelled.emit(req_id, completion)

    # -- models --------------------------------------------------------------------------
    def load_model(self, path: Path, settings: LoadSettings | None = None,
                   name: str = "") -> int:
        """Load a model on the engine thread (after any reply in progress)."""
        req_id = next(self._ids)
        self._loading[req_id] = time.monotonic()
        self._load_timer.start()
        self.load_started.emit(req_id, name or path.stem)
        self._req_load.emit(req_id, Path(path), settings, name)
        return req_id

    def unload_model(self) -> int:
        req_id = next(self._ids)
        self._loading[req_id] = time.monotonic()
        self._req_unload.emit(req_id)
        return req_id

    @Slot()
    def _tick_load(self) -> None:
        now = time.monotonic()
        for rid, started in self._loading.items():
            self.load_progress.emit(rid, now - started)

    def _end_load(self, req_id: int) -> None:
        self._loading.pop(req_id, None)
        if not self._loading:
            self._load_timer.stop()

    @Slot(int, object)
    def _on_loaded(self, req_id: int, loaded: object) -> None:
        self._end_load(req_id)
        self.model_loaded.emit(req_id, loaded)

    @Slot(int, str)
    def _on_load_error(self, req_id: int, message: str) -> None:
        self._end_load(req_id)
        self.load_failed.emit(req_id, message)

    # -- shutdown ------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = THREAD_WAIT_MS) -> None:
        """Stop replies, run the cleanups, end every worker thread, drop late callbacks.

        Idempotent. When it returns no thread of this bridge runs Python code any more, so
        the window can be deleted safely.
        """
        if self._closed:
            return
        self._closed = True
        self.stop()
        self._flush_timer.stop()
        self._load_timer.stop()
        self._invoker.close()
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception:
                log.exception("shutdown cleanup failed")
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            log.warning("engine thread still busy at shutdown (a model load?); waiting for it")
            self._thread.wait()
        if not self._pool.shutdown(timeout_ms / 1000):
            log.warning("a background task was still running at shutdown")
        if not self.ctx.engine.release_thread(timeout_ms / 1000):
            log.warning("the engine thread was still busy at shutdown")
        self._collector.stop()
