"""A FIFO lock: requests for the one model are served in arrival order.

``threading.Lock`` makes no ordering promise, so a busy client could starve others; the chat
window and HTTP clients must take turns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class FairLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._waiting = 0

    @property
    def queued(self) -> int:
        """Requests waiting (not counting the one being served)."""
        with self._cond:
            return self._waiting

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._waiting += 1
            while ticket != self._serving:
                self._cond.wait()
            self._waiting -= 1
        try:
            yield
        finally:
            with self._cond:
                self._serving += 1
                self._cond.notify_all()
