"""What runs off the GUI thread for the window: a small task pool, one serial queue per
ordered chore (the conversation store, model loads), and the turn-dropping that fits a long
conversation into the context. Replies themselves need no thread of ours: they are engine
handles (:meth:`Engine.submit`) that the :class:`~fireside.gui.bridge.Bridge` drains per frame.

Nothing here touches widgets or item models.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from fireside.core.errors import FiresideError
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import SamplingParams

log = logging.getLogger("fireside.gui.workers")
CHAT_PRIORITY = 1  # the person at the window comes before API clients on the one engine


def user_message(exc: BaseException) -> str:
    """One line a person can act on; a traceback for the log when it is a bug."""
    if isinstance(exc, FiresideError):
        return str(exc)
    log.error("unexpected error in a worker", exc_info=exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


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
