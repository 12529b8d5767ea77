"""What :meth:`Engine.submit` gives back: one request's stream, stop and answer.

Every front talks to the engine the same way (llama-server's one task queue, vLLM's request
handles): submit a request, get a :class:`Handle` at once, then pull text as it comes, stop it,
or wait for the :class:`Completion`. The window drains handles on its frame timer, the server
wakes its event loop from :meth:`Handle.notify`, the CLI iterates :meth:`Handle.stream`. None of
them owns a thread of its own for this, and none re-implements "submit, stream, cancel, finish".

Text is delivered one of two ways, chosen at submission: pulled (buffered here, taken with
:meth:`take` or :meth:`stream`), or pushed to an ``on_token`` callback on the engine thread
(llama-cpp-python's ``stopping_criteria`` style; a callback that raises ends its own request).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from fireside.core.inference.probs import TokenProb
from fireside.core.inference.sequence import Sequence
from fireside.core.inference.types import CancelToken, Completion, Stats

log = logging.getLogger("fireside.engine")
POLL_S = 0.05  # how soon a cancel set on a caller's own CancelToken reaches a queued request
Waker = Callable[[], None]


class _Held(threading.local):
    """Wake-ups a thread holds back (the engine's, during a step: see :func:`hold_wakes`)."""

    def __init__(self) -> None:
        self.holding = False
        self.wakers: list[Waker] = []


_held = _Held()


def hold_wakes() -> None:
    """From now on this thread's wake-ups wait for :func:`release_wakes`.

    The engine thread holds them while it samples a step's tokens and releases them just
    before the next ``llama_decode``: a woken event loop (the server's) otherwise takes the GIL
    at the engine's next ctypes call and the engine waits for it, once per token (~0.1 ms
    each, measured); released before the decode, they run while it computes without the GIL.
    """
    _held.holding = True


def release_wakes() -> None:
    """Call the wake-ups this thread held back; one that raises costs only its own wake-up
    (on the engine thread an escaping error would end it, and every request with it)."""
    wakers, _held.wakers = _held.wakers, []
    for waker in wakers:
        try:
            waker()
        except Exception:  # noqa: BLE001 - a consumer's waker, not the engine's concern
            log.exception("a handle's waker failed")


@dataclass
class Update:
    """What happened since the last :meth:`Handle.take`."""

    text: str = ""
    progress: tuple[int, int] | None = None  # prompt tokens read, of how many (latest)
    ended: bool = False  # the last update of this request: no more text will come
    completion: Completion | None = None  # when it ended with an answer (stopped ones too)
    error: BaseException | None = None  # when it failed
    probs: list[TokenProb] = field(default_factory=list)  # of this text's tokens, if asked
    tokens: list[int] = field(default_factory=list)  # this text's token ids


def cancelled_completion() -> Completion:
    """The answer of a request stopped before it started: nothing written."""
    return Completion("", "cancelled", Stats())


class Handle:
    """One submitted request. Thread-safe: any thread may take, stop or wait."""

    def __init__(self, seq: Sequence, on_token: Callable[[str], None] | None = None) -> None:
        self._seq = seq
        if seq.cancel is None:
            seq.cancel = CancelToken()
        self._cancel: CancelToken = seq.cancel
        self._cond = threading.Condition()
        self._text: list[str] = []
        self._probs: list[TokenProb] = []
        self._tokens: list[int] = []
        self._taken = 0  # of the sequence's generated tokens, handed out with their text
        self._progress: tuple[int, int] | None = None
        self._wakers: list[Waker] = []
        self._woken = False
        self._finished: list[Callable[[Handle], None]] = []
        seq.on_token = on_token if on_token is not None else self._on_text
        seq.on_progress = self._on_progress
        seq.future.add_done_callback(self._on_end)

    @property
    def future(self) -> Future[Completion]:
        return self._seq.future

    @property
    def opens_thinking(self) -> bool:
        """The prompt opened a ``<think>`` block (known once the request has started: before
        its first text), so the text starts inside the thinking."""
        return self._seq.opens_thinking

    @property
    def prompt_tokens(self) -> int:
        """The prompt's length in tokens (0 until the request has started; known before its
        first text), for protocols that report it at a stream's start (Anthropic's)."""
        return len(self._seq.tokens)

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens its slot's cache already held (known once it has started)."""
        return self._seq.cached

    @property
    def cancel_token(self) -> CancelToken:
        return self._cancel

    # -- stop ------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop: between two tokens if it runs, at once (nothing written) if still queued."""
        self._cancel.cancel()
        self._seq.future.cancel()  # succeeds only while the engine has not started it

    @property
    def cancelled(self) -> bool:
        return self._cancel.cancelled

    # -- engine thread side ----------------------------------------------------------------
    def _on_text(self, text: str) -> None:
        seq = self._seq
        with self._cond:
            self._text.append(text)
            upto = seq.emitted_upto
            if upto > self._taken:
                self._tokens.extend(seq.generated[self._taken:upto])
                self._probs.extend(seq.probs[self._taken:upto])
                self._taken = upto
        self._wake()

    def _on_progress(self, done: int, total: int) -> None:
        with self._cond:
            self._progress = (done, total)
        self._wake()

    def _on_end(self, _future: Future[Completion]) -> None:
        self._wake()
        with self._cond:
            finished, self._finished = self._finished, []
        for fn in finished:
            fn(self)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
            if self._woken:
                return
            self._woken = True
            wakers = list(self._wakers)
        if _held.holding:
            _held.wakers.extend(wakers)
            return
        for waker in wakers:
            waker()

    # -- consumer side ---------------------------------------------------------------------
    def notify(self, waker: Waker) -> None:
        """Call ``waker()`` (from the engine thread: keep it cheap, never block) when there is
        something new to :meth:`take`; once per take, so a busy stream costs one wake-up per
        batch of tokens, not one per token."""
        with self._cond:
            self._wakers.append(waker)
            pending = self._woken or bool(self._text) or self._seq.future.done()
        if pending:
            waker()

    def add_done_callback(self, fn: Callable[[Handle], None]) -> None:
        """``fn(handle)`` once the request has ended (on the thread that ended it)."""
        with self._cond:
            if not self._seq.future.done():
                self._finished.append(fn)
                return
        fn(self)

    def done(self) -> bool:
        return self._seq.future.done()

    def take(self) -> Update:
        """Everything new since the last take; never blocks."""
        future = self._seq.future
        with self._cond:
            ended = future.done()  # read first: every token of an ended request is in _text
            update = Update("".join(self._text), self._progress, probs=self._probs,
                            tokens=self._tokens)
            self._probs, self._tokens = [], []
            self._text.clear()
            self._progress = None
            self._woken = False
        if ended:
            update.ended = True
            update.completion, update.error = self._outcome()
        return update

    def _outcome(self) -> tuple[Completion | None, BaseException | None]:
        future = self._seq.future
        if future.cancelled():
            return cancelled_completion(), None
        error = future.exception()
        return (None, error) if error is not None else (future.result(), None)

    def stream(self) -> Iterator[str]:
        """Text as it comes, on the caller's thread; ends when the request does (raising its
        error, if it failed). Stopping the iteration early stops the request."""
        finished = False
        try:
            while True:
                update = self.take()
                if update.text:
                    yield update.text
                if update.ended:
                    finished = True
                    if update.error is not None:
                        raise update.error
                    return
                self._wait_for_news()
        finally:
            if not finished:
                self.cancel()

    def _wait_for_news(self) -> None:
        with self._cond:
            if not self._text and not self._seq.future.done():
                self._cond.wait(POLL_S)
        if self._cancel.cancelled:  # set on the caller's own token: reach a queued request
            self._seq.future.cancel()

    def result(self, timeout: float | None = None) -> Completion:
        """Block for the answer (its error is raised here). A KeyboardInterrupt while waiting
        stops the request too; one stopped while queued answers "cancelled" with no text."""
        future = self._seq.future
        waited = 0.0
        try:
            while True:
                try:
                    return future.result(timeout=POLL_S)
                except FutureTimeout:
                    if self._cancel.cancelled:
                        future.cancel()
                    waited += POLL_S
                    if timeout is not None and waited >= timeout:
                        raise TimeoutError("the engine did not answer in time") from None
        except CancelledError:
            return cancelled_completion()
        except BaseException:
            if not future.done():
                self.cancel()
            raise

    def stats_so_far(self) -> Stats:
        """Its figures while it runs (llama-server's ``timings_per_token``)."""
        return self._seq.stats()

    @property
    def stats(self) -> Stats | None:
        """The figures once it has ended with an answer."""
        future = self._seq.future
        if not future.done() or future.cancelled() or future.exception() is not None:
            return None
        return future.result().stats
