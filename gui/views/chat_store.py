"""The chat pane's way to the conversation store: one serial thread, in order, off the GUI.

Order matters (a reply is written after its question; a search sees the rename before it), so
every store call goes through one :class:`SerialQueue`; results come back on the GUI thread
through the ``relay`` the composition root hands over (the Bridge's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fireside.core import attachments
from fireside.core.store import Store
from fireside.gui.workers import SerialQueue

log = logging.getLogger("fireside.gui.chat")
T = TypeVar("T")
Relay = Callable[[Callable[..., Any]], Callable[..., None]]


class ChatStore:
    def __init__(self, database: Path, relay: Relay,
                 on_error: Callable[[str], None]) -> None:
        self._store: Store | None = None  # touched only on the store thread
        self._relay = relay
        self.attachments = attachments.folder_for(database)  # attached images are kept here
        self._queue = SerialQueue()
        report = relay(on_error)

        def open_store() -> None:
            try:
                self._store = Store(database)
            except Exception as exc:
                log.exception("conversation store unavailable")
                report(f"Conversations cannot be saved: {exc}")

        self._queue.put(open_store)

    def write(self, fn: Callable[[Store], object]) -> None:
        def task() -> None:
            if self._store is not None:
                fn(self._store)
        self._queue.put(task)

    def read(self, fn: Callable[[Store], T], on_done: Callable[[T], None]) -> None:
        """``on_done(fn(store))`` later, on the GUI thread."""
        relay = self._relay(on_done)

        def task() -> None:
            if self._store is not None:
                relay(fn(self._store))
        self._queue.put(task)

    def flush(self, timeout: float = 10.0) -> bool:
        return self._queue.flush(timeout)

    def close(self) -> bool:
        """Run what is queued, close the connection on its own thread, end the thread."""
        def close_store() -> None:
            store, self._store = self._store, None
            if store is not None:
                store.close()
        self._queue.put(close_store)
        return self._queue.close()
