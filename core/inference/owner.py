"""One OS thread makes every llama.cpp call, in arrival order.

llama.cpp's CPU backend splits each graph over OpenMP threads, and libgomp keeps a separate
team of worker threads for every thread that starts a parallel region. Once a second caller
has its own team, the idle team spins while the busy one computes, fighting it for the cores:
on 2 cores decode fell from ~156 to ~110 tok/s when requests came from a server's pool
threads, and to ~75 tok/s for every caller, the first included, once four threads had called
(``bench/server.py`` showed the server at 0.7x ``llama-server``). ``llama-server`` calls
llama.cpp from one loop thread; so does Fireside: callers from any thread hand the work over
and block on a future. A FIFO queue keeps requests in arrival order, which is the fairness the
chat window and HTTP clients need to take turns.

Generation requests do not run one after another: they join a batch (``batch``) and the
thread advances all of them a token per step. Everything else (load, unload, embeddings,
tokenizing) is exclusive: it waits for the batch to drain, and nothing that arrived after it
joins before it has run, so arrival order still holds.
"""


from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol, TypeAlias, TypeVar

from fireside.core.inference.handle import hold_wakes, release_wakes
from fireside.core.inference.sequence import Sequence
from fireside.core.inference.types import CancelToken

T = TypeVar("T")
CANCEL_POLL_S = 0.05  # how soon a Stop reaches a request that is still queued
ENGINE_NICE = 5  # the engine's threads run this much nicer than the window
log = logging.getLogger("fireside.engine.owner")


class _Call:
    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.future: Future[Any] = Future()


_Item: TypeAlias = "_Call | Sequence | None"


class Scheduler(Protocol):
    """What the owner thread asks of the engine about generation requests."""

    def prepare(self, seq: Sequence) -> None: ...
    def can_join(self, seq: Sequence, running: list[Sequence]) -> bool: ...
    def start(self, seq: Sequence, running: list[Sequence]) -> bool: ...
    def step(self, running: list[Sequence]) -> list[Sequence]: ...
    def finish(self, seq: Sequence, error: BaseException | None) -> None: ...
    def make_room(self, running: list[Sequence]) -> list[Sequence]: ...
    def make_way(self, seq: Sequence, running: list[Sequence]) -> list[Sequence]: ...


def _yield_to_the_window(nice: int) -> None:
    """Run the engine thread, and the llama.cpp worker threads it creates (they inherit it),
    ``nice`` levels below the rest of the process: only where a window shares the process.

    On 2 cores the two decode threads keep both busy; the window's GUI thread then waited
    for the scheduler behind them (60 ms stalls while a reply streamed). Niced, they give way
    the moment the window has work, which is little, so decoding loses next to nothing. A
    headless server has no window to yield to, and niced it yielded to everything else on
    the machine instead: its HTTP clients, other programs (llama-server, compared with it,
    runs at normal priority). Linux sets niceness per thread; elsewhere this would nice the
    whole process, so it is skipped.
    """
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except OSError as exc:  # a sandbox that forbids it: run at the normal priority
        log.debug("could not lower the engine thread's priority: %s", exc)


class OwnerThread:
    """Runs calls and batched sequences on one thread; started on first use."""

    def __init__(self, scheduler: Scheduler, name: str = "fireside-engine") -> None:
        self._scheduler = scheduler
        self._name = name
        self.nice = 0  # ENGINE_NICE once a window shares the process (from the next start)
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.running: list[Sequence] = []
        self._closing: threading.Thread | None = None
        self._waiting = 0

    @property
    def queued(self) -> int:
        """Requests waiting for the thread (not counting those it is running)."""
        with self._lock:
            return self._waiting

    @property
    def is_owner(self) -> bool:
        return threading.current_thread() is self._thread

    def call(self, fn: Callable[[], T], cancel: CancelToken | None = None) -> T:
        """``fn()`` alone on the owner thread; its result or exception comes back here."""
        if self.is_owner:  # a listener or callback calling back in: already on the thread
            return fn()
        item = _Call(fn)
        self._put(item)
        return self._wait(item.future, cancel)

    def submit(self, seq: Sequence) -> None:
        """Queue ``seq`` for the batch; its ``future`` resolves with the answer."""
        if self.is_owner:
            raise RuntimeError("generation requested from the engine thread itself")
        self._put(seq)

    def _put(self, item: _Call | Sequence) -> None:
        with self._lock:
            self._waiting += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, args=(self._closing,),
                                                name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(item)

    @staticmethod
    def _wait(future: Future[T], cancel: CancelToken | None) -> T:
        """Block for the answer. If the waiting caller is interrupted (Ctrl-C in the CLI),
        the work is cancelled too: a queued one never starts, a running one stops at its
        next token. A ``cancel`` set while the work is still queued cancels it now
        (CancelledError) rather than when the owner reaches it."""
        try:
            while True:
                try:
                    return future.result(timeout=CANCEL_POLL_S if cancel is not None else None)
                except FutureTimeout:
                    if cancel is not None and cancel.cancelled and future.cancel():
                        raise CancelledError("cancelled while queued") from None
        except CancelledError:
            raise
        except BaseException:
            if not future.done():
                future.cancel()
                if cancel is not None:
                    cancel.cancel()
            raise

    def close(self, timeout: float | None = None) -> bool:
        """End the thread once the requests queued before this have run; True if it ended.

        A later request starts a fresh thread, so closing a window never breaks an engine
        that outlives it.
        """
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return True
            self._queue.put(None)
            self._closing = thread
        if thread is threading.current_thread():
            return False
        thread.join(timeout)
        return not thread.is_alive()

    # -- the thread ------------------------------------------------------------------------
    def _serve(self, previous: threading.Thread | None) -> None:
        _yield_to_the_window(self.nice)
        if previous is not None:  # a closed thread may still be finishing requests
            previous.join()
        backlog: deque[_Call | Sequence] = deque()
        running: list[Sequence] = []
        self.running = running  # read by status pages (a snapshot copy; the GIL keeps it whole)
        closing = False
        hold_wakes()  # handles' wake-ups go out together, before each decode
        while True:
            if not running:  # no decode next (idle, or a call to run): nothing to wait for
                release_wakes()
            if not closing:
                closing = self._pull(backlog, block=not running and not backlog)
            if backlog:  # preparing or claiming a slot (a cache copy) may take a while
                release_wakes()
            self._admit(backlog, running)
            if running:
                # preempted requests wait at the front: they resume first when room frees
                backlog.extendleft(reversed(self._scheduler.make_room(running)))
            if running:
                release_wakes()
                self._step(running)
            elif closing and not backlog:
                release_wakes()
                return

    def _pull(self, backlog: deque[_Call | Sequence], *, block: bool) -> bool:
        """Move what has arrived into ``backlog``; True once the close marker is reached."""
        try:
            item = self._queue.get() if block else self._queue.get_nowait()
            while item is not None:
                backlog.append(item)
                item = self._queue.get_nowait()
            return True
        except queue.Empty:
            return False

    def _started(self, future: Future[Any]) -> bool:
        with self._lock:
            self._waiting -= 1
        return future.set_running_or_notify_cancel()

    def _admit(self, backlog: deque[_Call | Sequence], running: list[Sequence]) -> None:
        """Start what may start, in arrival order: a call needs the batch empty, a sequence
        needs room beside the running ones."""
        sched = self._scheduler
        while backlog:
            item = backlog[0]
            if isinstance(item, _Call):
                if running:
                    return
                backlog.popleft()
                if self._started(item.future):
                    release_wakes()  # a request that just failed to start hears it now
                    self._run_call(item)
                continue
            if item.preempted:  # resuming: already counted as started, its future running
                if running and not item.cancelled and not sched.can_join(item, running):
                    return
                backlog.popleft()
                self._start(item, running)
                continue
            way: list[Sequence] = []
            if not item.future.cancelled():
                try:
                    sched.prepare(item)
                except BaseException as exc:  # noqa: BLE001 - the caller gets it
                    backlog.popleft()
                    if self._started(item.future):
                        sched.finish(item, exc)
                    continue
                if running and not sched.can_join(item, running):
                    way = sched.make_way(item, running)
                    if not way:
                        return
            backlog.popleft()
            if self._started(item.future):
                self._start(item, running)
            else:  # cancelled while it waited: what its prompt holds (images) goes now
                item.close()
            backlog.extendleft(reversed(way))  # the paused go first once room frees

    def _start(self, item: Sequence, running: list[Sequence]) -> None:
        sched = self._scheduler
        try:
            joined = sched.start(item, running)
        except BaseException as exc:  # noqa: BLE001
            sched.finish(item, exc)
            return
        if joined:
            running.append(item)
        else:
            sched.finish(item, None)

    def _step(self, running: list[Sequence]) -> None:
        sched = self._scheduler
        try:
            done = sched.step(running)
        except BaseException as exc:  # noqa: BLE001 - a failed decode ends the whole batch
            for seq in running:
                sched.finish(seq, exc)
            running.clear()
            return
        for seq in done:
            running.remove(seq)
            sched.finish(seq, None)

    @staticmethod
    def _run_call(item: _Call) -> None:
        try:
            result = item.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who re-raises
            item.future.set_exception(exc)
        else:
            item.future.set_result(result)
