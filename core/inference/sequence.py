"""One generation request while it runs on the batch: its sampler, its text, its end.

The engine decodes every running request in one ``llama_decode`` per step (see ``batch``);
what is private to a request lives here: turning sampled tokens into text (incremental UTF-8,
stop strings, holding back a tail that may still become a stop string), the cancel check
between tokens, the token limit, and the figures its caller gets back.
"""

from __future__ import annotations

import codecs
import ctypes
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import llama_cpp

from fireside.core.errors import FiresideError
from fireside.core.inference.media import MediaPrompt
from fireside.core.inference.probs import TokenProb
from fireside.core.inference.types import CancelToken, Completion, SamplingParams, Stats

Prepare = Callable[[], tuple[list[int], list[str]]]
GROW_CELLS = 128  # room to grow a request is admitted with; past it, preemption makes room


def held_back(text: str, stops: list[str]) -> int:
    """Length of the tail of ``text`` that could still grow into a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


class Sequence:
    """A request from submission to its :class:`Completion` (resolved on ``future``)."""

    def __init__(self, prepare: Prepare, params: SamplingParams, grammar: Any,
                 on_token: Callable[[str], None] | None, cancel: CancelToken | None) -> None:
        self.prepare_fn = prepare
        self.params = params
        self.grammar = grammar
        self.on_token = on_token
        self.cancel = cancel
        self.future: Future[Completion] = Future()
        self.tokens: list[int] = []  # the prompt
        self.prompt_text = ""  # the prompt as text (a chat's rendered template), if known
        self.cached = 0  # prompt tokens found in the slot's cache when it started
        self.prepared = False
        self.stop: list[str] = []
        self.stop_sequence: str | None = None  # the stop string that ended it, if one did
        self.max_tokens = 0
        self.slot = -1
        self.sampler: Any = None
        self.greedy = False  # its chain only picks the likeliest token (sampler.plain_greedy)
        self.next_token = -1  # sampled, not yet decoded
        self.finish = ""
        self.count = 0
        self.prefill_tokens = 0
        self.started = self.first_at = self.prefilled_at = 0.0
        self.submitted = time.perf_counter()
        self.decoded: list[int] = []  # what it wrote that the KV cache holds
        self.preempted = 0  # times it was paused to make room (and recomputed after)
        self.priority = 0  # 1 for the person's own chat: API requests make way for it
        # prefill, a batch-sized chunk per step beside the others' tokens (see batch.step):
        # feed[:fed] is in its slot's cache; a request with no token yet samples its first
        # once all of it is
        self.feed: list[int] = []
        self.fed = self.fed_from = 0
        self.opens_thinking = False  # its prompt ended inside an opened <think> block
        self.media: MediaPrompt | None = None  # its images, read where their spans start
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._emitted: list[str] = []
        self.error: BaseException | None = None  # the caller's own callback failed
        self.on_progress: Callable[[int, int], None] | None = None  # prefill: done, total
        # what it wrote, token by token (ids, and probabilities when asked): the text emitted
        # so far is that of generated[:emitted_upto] (a held-back tail waits for its text)
        self.generated: list[int] = []
        self.probs: list[TokenProb] = []
        self.emitted_upto = 0

    def prepare(self, n_ctx: int) -> None:
        """Render and tokenize on the engine thread; sets the token budget for this request."""
        if self.prepared:
            return
        self.tokens, self.stop = self.prepare_fn()
        self.prepared = True
        if not self.tokens:
            raise FiresideError("the prompt is empty")
        wanted = self.params.max_tokens if self.params.max_tokens and \
            self.params.max_tokens > 0 else None
        room = n_ctx - len(self.tokens)
        self.max_tokens = min(wanted, room) if wanted else room

    @property
    def held(self) -> int:
        """KV cells this request occupies now."""
        return len(self.tokens) + len(self.decoded)

    @property
    def filling(self) -> bool:
        """Part of its prompt (or, resuming, of what it wrote) is not in the cache yet."""
        return self.fed < len(self.feed)

    @property
    def admit_need(self) -> int:
        """Cells to (re)start it: what it holds, plus room to grow a while (its whole
        budget when that is small, GROW_CELLS when it is large or unbounded)."""
        return self.held + 1 + min(max(self.max_tokens - self.count, 0), GROW_CELLS)

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def accept(self, token: int, vocab: Any, buf: ctypes.Array[ctypes.c_char]) -> bool:
        """Take a sampled token; True while the request wants another one."""
        if self.first_at == 0.0:
            self.first_at = time.perf_counter()
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            self.finish = "stop"
            if len(self.probs) > self.count:  # the end-of-generation token writes nothing
                self.probs.pop()
            return False
        self.count += 1
        self.generated.append(token)
        n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, False)
        pending = self._pending + self._utf8.decode(buf.raw[:n] if n > 0 else b"")
        stop = self.stop
        hit = min((i for s in stop if (i := pending.find(s)) >= 0), default=-1) if stop else -1
        if hit >= 0:
            self.stop_sequence = next(s for s in stop if pending.find(s) == hit)
            pending = pending[:hit]
            self.finish = "stop"
        hold = 0 if hit >= 0 or not stop else held_back(pending, stop)
        ready, self._pending = pending[:len(pending) - hold], pending[len(pending) - hold:]
        if ready:
            self._emit(ready)
        if hit >= 0:
            return False
        if self.error is not None:
            self.finish = "error"
            return False
        if self.cancelled:
            self.finish = "cancelled"
            return False
        if self.count >= self.max_tokens:
            self.finish = "length"
            return False
        self.next_token = token
        return True

    def progress(self, done: int, total: int) -> None:
        """Prompt processing so far; a failing listener never stops the request."""
        if self.on_progress is not None:
            try:
                self.on_progress(done, total)
            except Exception:  # noqa: BLE001 - a progress display is not worth a request
                self.on_progress = None

    def _emit(self, text: str) -> None:
        self._emitted.append(text)
        self.emitted_upto = len(self.generated)
        if self.on_token is not None and self.error is None:
            try:
                self.on_token(text)
            except Exception as exc:  # the consumer's bug ends its request, not the batch
                self.error = exc

    def completion(self, n_ctx: int) -> Completion:
        """The answer and its figures, measured on the wall clock as the caller saw them."""
        if self.finish == "length" and self._pending:
            self._emit(self._pending)
            self._pending = ""
        return Completion("".join(self._emitted), self.finish or "length", self.stats(n_ctx),
                          stop_sequence=self.stop_sequence,
                          probs=self.probs[:self.emitted_upto],
                          tokens=self.generated[:self.emitted_upto],
                          prompt=self.prompt_text)

    def stats(self, n_ctx: int = 0) -> Stats:
        """Its figures so far (final once it has ended); any thread may read them."""
        end = time.perf_counter()
        stats = Stats(prompt_tokens=len(self.tokens), context_limit=n_ctx,
                      total_s=end - self.started if self.started else 0.0)
        stats.prefill_tokens = self.prefill_tokens
        if self.started:
            stats.ttft_s = (self.first_at or end) - self.started
            stats.queue_s = max(0.0, self.started - self.submitted)
        prefill_s = self.prefilled_at - self.started
        if self.prefill_tokens and prefill_s > 0:
            stats.prefill_tokens_per_s = self.prefill_tokens / prefill_s
        if self.count > 1 and self.first_at and end > self.first_at:
            stats.decode_tokens_per_s = (self.count - 1) / (end - self.first_at)
        stats.completion_tokens = self.count
        stats.preempted = self.preempted
        stats.context_used = len(self.tokens) + self.count
        return stats

    def close(self) -> None:
        if self.sampler is not None:
            self.sampler.close()
            self.sampler = None
        if self.media is not None:
            self.media.close()
            self.media = None
