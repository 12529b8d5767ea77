"""The one QObject between the window and everything slow (engine, disk, network).

Views call :meth:`Bridge.submit` for chores and :meth:`Bridge.relay` to get a thread-safe
callable back onto the GUI thread; the chat pane uses :meth:`Bridge.chat`, :meth:`Bridge.stop`
and :meth:`Bridge.load_model`. A reply is submitted to the engine like any server request
(:meth:`Engine.submit` returns a handle at once, so the GUI thread never waits for it); the
frame timer drains every live handle and turns what it finds into signals carrying a request id:
text, prompt progress, then exactly one of finished / failed / cancelled. Stop cancels the
handle directly. Loads and unloads run in order on one thread of their own.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from fireside.core.context import AppContext
from fireside.core.errors import ContextOverflowError
from fireside.core.inference.engine import LoadedModel
from fireside.core.inference.handle import Handle, Update
from fireside.core.inference.reasoning import OPEN as OPEN_THINK
from fireside.core.inference.types import ChatRequest, LoadSettings, SamplingParams
from fireside.core.remote.providers import split_ref
from fireside.gui.lifetime import GuiThreadCollector
from fireside.gui.workers import (
    CHAT_PRIORITY,
    SerialQueue,
    TaskPool,
    fit_messages,
    user_message,
)

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
        self._loads = SerialQueue("fireside-load")  # loads and unloads, in the order asked
        # live replies: their handle, or None while the oldest turns are being left out
        self._active: dict[int, Handle | None] = {}
        self._stopped: set[int] = set()  # stopped before their handle existed
        self._opened: set[int] = set()  # replies whose <think> tag was restored
        self._loading: dict[int, float] = {}

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
             fit: bool = False, model: str = "") -> int:
        """Start a reply; tokens, then one of finished/failed/cancelled, carry the id.

        ``fit`` leaves out the oldest turns when the conversation outgrew the context (the
        ``trimmed`` signal says how many) instead of failing with ``context_overflow``; that
        tokenizes the conversation, so it runs off the GUI thread before the reply is
        submitted. A remote ``model`` (``PROVIDER:MODEL``) is answered by its provider
        through the same kind of handle (submitted on a worker: its key may come from the
        keyring); the loaded model answers anything else.
        """
        req_id = next(self._ids)
        self._active[req_id] = None
        if not self._flush_timer.isActive():
            self._flush_timer.start()
        messages = [dict(m) for m in messages]
        if split_ref(model) is not None:
            remote = self.ctx.remote
            request = ChatRequest(messages, params, priority=CHAT_PRIORITY)
            self.submit(lambda: remote.submit(model, request),
                        lambda handle: self._attach(req_id, handle),
                        lambda message: self._end(req_id, self.failed, message))
            return req_id
        if not fit:
            self._start(req_id, messages, params)
            return req_id
        engine = self.ctx.engine

        def fitted(result: Any) -> None:
            kept, dropped, size = result
            if req_id not in self._active:
                return
            if dropped:
                self.trimmed.emit(req_id, dropped, size)
            self._start(req_id, kept, params)

        self.submit(lambda: fit_messages(engine, messages, params), fitted,
                    lambda message: self._end(req_id, self.failed, message))
        return req_id

    def _start(self, req_id: int, messages: list[dict[str, Any]],
               params: SamplingParams) -> None:
        if self._closed:
            return
        self._attach(req_id, self.ctx.engine.submit(
            ChatRequest(messages, params, priority=CHAT_PRIORITY)))

    def _attach(self, req_id: int, handle: Handle) -> None:
        if req_id not in self._active:  # stopped (and ended) before it was submitted
            handle.cancel()
            return
        self._active[req_id] = handle
        if req_id in self._stopped:
            handle.cancel()

    def stop(self, req_id: int | None = None) -> None:
        """Stop one request (or all): between two tokens, or at once while it waits."""
        for rid, handle in list(self._active.items()):
            if req_id is None or rid == req_id:
                self._stopped.add(rid)
                if handle is not None:
                    handle.cancel()
                else:  # still leaving out old turns: it ends here, never submitted
                    self._end(rid, self.cancelled, None)

    @property
    def busy(self) -> bool:
        return bool(self._active) or bool(self._loading)

    def loaded_model(self) -> LoadedModel | None:
        """What the engine holds now (a plain read; the engine thread may change it)."""
        return self.ctx.engine.loaded

    @Slot()
    def _flush(self) -> None:
        """Once per frame: what every live reply wrote since the last frame, and its end."""
        for rid, handle in list(self._active.items()):
            if handle is not None:
                update = handle.take()
                if update.text or update.ended or update.progress is not None:
                    self._deliver(rid, update, handle.opens_thinking)

    def _deliver(self, req_id: int, update: Update, opened: bool) -> None:
        if update.progress is not None:
            self.reading.emit(req_id, *update.progress)
        if opened and update.text and req_id not in self._opened:
            # The template opened the <think> block: the window sees the reply whole, tag
            # and all, so it reads (and is stored) like a model that opened it itself.
            self._opened.add(req_id)
            update.text = OPEN_THINK + update.text
        if update.text:
            self.token_ready.emit(req_id, update.text)
        if opened and update.completion is not None and update.completion.text:
            update.completion = replace(update.completion,
                                        text=OPEN_THINK + update.completion.text)
        if not update.ended:
            return
        error = update.error
        if isinstance(error, ContextOverflowError):
            self.context_overflow.emit(req_id, error.prompt_tokens, error.n_ctx)
        if error is not None:
            self._end(req_id, self.failed, user_message(error))
        elif update.completion is None or update.completion.finish_reason == "cancelled" \
                or req_id in self._stopped:
            self._end(req_id, self.cancelled, update.completion)
        else:
            self._end(req_id, self.finished, update.completion)

    def _end(self, req_id: int, signal: Any, value: object) -> None:
        if req_id not in self._active:
            return  # already ended (a stale id)
        del self._active[req_id]
        self._stopped.discard(req_id)
        self._opened.discard(req_id)
        if not self._active:
            self._flush_timer.stop()
        signal.emit(req_id, value)

    # -- models --------------------------------------------------------------------------
    def load_model(self, path: Path, settings: LoadSettings | None = None,
                   name: str = "") -> int:
        """Load a model on the engine thread (after any reply in progress)."""
        req_id = next(self._ids)
        self._loading[req_id] = time.monotonic()
        self._load_timer.start()
        self.load_started.emit(req_id, name or path.stem)
        engine, path = self.ctx.engine, Path(path)
        post = self._invoker.post

        def load() -> None:
            try:
                loaded = engine.load(path, settings, name or None, by="chat")
            except BaseException as exc:  # noqa: BLE001 - every failure reaches the window
                post(self._on_load_error, (req_id, user_message(exc)))
            else:
                post(self._on_loaded, (req_id, loaded))

        self._loads.put(load)
        return req_id

    def unload_model(self) -> int:
        req_id = next(self._ids)
        self._loading[req_id] = time.monotonic()
        engine = self.ctx.engine
        post = self._invoker.post

        def unload() -> None:
            try:
                engine.unload()
            except BaseException as exc:  # noqa: BLE001
                log.warning("unload failed: %s", exc)
            post(self._on_loaded, (req_id, None))

        self._loads.put(unload)
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
        if not self._loads.close(timeout_ms / 1000):
            log.warning("a model load was still running at shutdown")
        if not self._pool.shutdown(timeout_ms / 1000):
            log.warning("a background task was still running at shutdown")
        if not self.ctx.engine.release_thread(timeout_ms / 1000):
            log.warning("the engine thread was still busy at shutdown")
        self._collector.stop()
