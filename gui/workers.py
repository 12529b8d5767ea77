"""Worker-side objects: the chat worker (one QThread, the one model) and a small task pool.

Workers never touch widgets or item models. The chat worker reports through signals that the
:class:`~fireside.gui.bridge.Bridge` receives on the GUI thread; tokens do not travel as one
queued event each but go into a :class:`TokenBuffer` that the GUI drains once per frame.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from fireside.core.errors import ContextOverflowError, FiresideError
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import CancelToken, LoadSettings, SamplingParams

log = logging.getLogger("fireside.gui.workers")
CHAT_PRIORITY = 1  # the person at the window comes before API clients on the one engine


def user_message(exc: BaseException) -> str:
    """One line a person can act on; a traceback for the log when it is a bug."""
    if isinstance(exc, FiresideError):
        return str(exc)
    log.error("unexpected error in a worker", exc_info=exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


class TokenBuffer:
    """Tokens written by the worker thread, drained by the GUI thread on a timer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[int, list[str]] = {}
        self._progress: dict[int, tuple[int, int]] = {}

    def append(self, req_id: int, text: str) -> None:
        with self._lock:
            self._parts.setdefault(req_id, []).append(text)

    def progress(self, req_id: int, done: int, total: int) -> None:
        """Prompt processing: only the latest figure per request matters."""
        with self._lock:
            self._progress[req_id] = (done, total)

    def drain(self) -> dict[int, str]:
        with self._lock:
            parts, self._parts = self._parts, {}
        return {rid: "".join(chunks) for rid, chunks in parts.items() if chunks}

    def drain_progress(self) -> dict[int, tuple[int, int]]:
        with self._lock:
            progress, self._progress = self._progress, {}
        return progress


class ChatWorker(QObject):
    """Lives in its own QThread; every slot runs there, one request at a time."""

    done = Signal(int, object)  # request id, Completion
    error = Signal(int, str)  # request id, one-line message
    stopped = Signal(int, object)  # request id, Completion (partial)
    load_done = Signal(int, object)  # request id, LoadedModel
    load_error = Signal(int, str)
    overflow = Signal(int, int, int)  # request id, prompt tokens, context size
    trimmed = Signal(int, int, int)  # request id, messages left out, prompt tokens now

    def __init__(self, engine: Engine, tokens: TokenBuffer) -> None:
        super().__init__()
        self._engine = engine
        self._tokens = tokens

    @Slot(int, object, object, object, bool)
    def chat(self, req_id: int, messages: object, params: object, cancel: object,
             fit: bool) -> None:
        assert isinstance(params, SamplingParams) and isinstance(cancel, CancelToken)
        assert isinstance(messages, list)
        if cancel.cancelled:  # stopped while still queued behind another request
            self.stopped.emit(req_id, None)
            return
        try:
            if fit:
                messages, dropped, size = fit_messages(self._engine, messages, params)
                if dropped:
                    self.trimmed.emit(req_id, dropped, size)
            tokens = self._tokens
            result = self._engine.chat(
                messages, params, on_token=lambda text: tokens.append(req_id, text),
                cancel=cancel, on_progress=lambda done, total: tokens.progress(
                    req_id, done, total), priority=CHAT_PRIORITY)
        except ContextOverflowError as exc:
            self.overflow.emit(req_id, exc.prompt_tokens, exc.n_ctx)
            self.error.emit(req_id, user_message(exc))
            return
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the window
            self.error.emit(req_id, user_message(exc))
            return
        if cancel.cancelled or result.finish_reason == "cancelled":
            self.stopped.emit(req_id, result)
        else:
            self.done.emit(req_id, result)

    @Slot(int, object, object, str)
    def load(self, req_id: int, path: object, settings: object, name: str) -> None:
        assert isinstance(path, Path)
        try:
            loaded = self._engine.load(path, settings if isinstance(settings, LoadSettings)
                                       else None, name or None, by="chat")
        except BaseException as exc:  # noqa: BLE001
            self.load_error.emit(req_id, user_message(exc))
            return
        self.load_done.emit(req_id, loaded)

    @Slot(int)
    def unload(self, req_id: int) -> None:
        try:
            self._engine.unload()
        except BaseException as exc:  # noqa: BLE001
            log.warning("unload failed: %s", exc)
        self.load_done.emit(req_id, None)


def fit_messages(engine: Engine, messages: list[dict[str, Any]],
                 params: SamplingParams) -> tuple[list[dict[str, Any]], int, int]:
    """Leave out the oldest turns until the prompt fits with room for a reply.

    Only called when the person chose "drop oldest turns"; the window says how many went
    and how many tokens the prompt has now. System messages and the newest message are
    always kept.
    """
    loaded = engine.loaded
    if loaded is None:
        return messages, 0, 0
    room = min(params.max_tokens or 512, loaded.n_ctx // 4)
    limit = loaded.n_ctx - room
    kept = list(messages)
    dropped = 0
    while True:
        size = len(engine.tokenize(engine.render_chat(kept)))
        movable = [i for i, m in enumerate(kept[:-1]) if m.get("role") != "system"]
        if size <= limit or not movable:
            return kept, dropped, size
        first = movable[0]
        count = 2 if len(movable) > 1 and kept[first].get("role") == "user" else 1
        del kept[first:first + count]
        dropped += count


Task = Callable[[], None]


class SerialQueue:
    """One thread running tasks in order: the conversation store's only writer.

    Order matters (a reply is written after its question; a search sees the rename before it),
    so store work goes through here rather than the parallel pool.
    """

    def __init__(self, name: str = "fireside-store") -> None:
        self._queue: queue.Queue[Task | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            task = self._queue.get()
            try:
                if task is None:
                    return
                task()
            except BaseException:  # noqa: BLE001
                log.exception("store task failed")
            finally:
                self._queue.task_done()

    def put(self, task: Task) -> None:
        self._queue.put(task)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued task has run (shutdown: nothing sent is lost)."""
        done = threading.Event()
        self._queue.put(done.set)
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Run what is queued, then end the thread; True when it ended in time."""
        self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()


class TaskPool:
    """A few daemon threads for disk/network/engine chores off the GUI thread.

    Daemon threads, so a long download never holds the process open after the window closes;
    callers that own cancellable work stop it themselves before shutdown.
    """

    def __init__(self, workers: int = 4) -> None:
        self._queue: queue.Queue[Task | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._loop, name=f"fireside-task-{i}",
                                          daemon=True) for i in range(workers)]
        for t in self._threads:
            t.start()
        self._closed = False

    def _loop(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                task()
            except BaseException:  # noqa: BLE001 - the task wrapper reports; keep the thread
                log.exception("task crashed")

    def put(self, task: Task) -> None:
        if self._closed:
            raise RuntimeError("task pool is shut down")
        self._queue.put(task)

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Let the running tasks finish (queued ones are the caller's to skip) and join.

        True when every thread ended within ``timeout`` seconds. A window's threads must be
        gone before it is deleted: a thread left running may trigger a garbage collection, or
        emit, while the GUI thread tears the window down.
        """
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)
