"""Readers of the loaded model beside the batch: tokenizing and template rendering.

Tokenizing only reads the vocabulary, so it need not wait for the engine thread's batch to
drain (llama-server tokenizes on its HTTP threads the same way); what it must not do is race
an unload that frees the model under it. Readers hold the model for the length of their call;
an unload waits for the readers in progress and holds new ones back until it is done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ModelReaders:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._count = 0
        self._swapping = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the loaded model (whatever it is when the block starts) until the block ends."""
        with self._cond:
            while self._swapping:
                self._cond.wait()
            self._count += 1
        try:
            yield
        finally:
            with self._cond:
                self._count -= 1
                self._cond.notify_all()

    @contextmanager
    def swapping(self) -> Iterator[None]:
        """Free or replace the model: after the readers in progress, before any new one."""
        with self._cond:
            self._swapping = True
            while self._count:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._swapping = False
                self._cond.notify_all()

    @property
    def active(self) -> int:
        with self._cond:
            return self._count
