"""Continuous batching: every running request advances by one token per ``llama_decode``.

The context is made with ``n_seq_max`` = slots and a unified KV cache, so each request (a
sequence) may use the whole context while the cells are shared. A step puts each running
sequence's last token in one batch, decodes once, and samples each sequence from its own row
of logits with its own sampler chain. On CPU a step with four tokens costs little more than a
step with one (the weights are read once), which is how ``llama-server -np 4`` outruns
``-np 1``; with one request the step is the plain token loop. A request that joins has its
prompt read in the same steps, in batch-sized chunks beside the others' tokens, so four
requests arriving at once cost one prompt decode, not four, and a long prompt never stalls the
requests already writing.

Slots remember the tokens their KV cells hold, so a follow-up turn of the same conversation
reuses its prefix. A request joins the batch when what it holds now, plus a little room to
grow, fits beside what the running requests hold now (``Sequence.admit_need``): no guess at how
long a reply without ``max_tokens`` will run, so it never blocks the others. When the cache
cannot take the next step, idle slots' caches go first (least recently used), then the
request that arrived last is preempted as vLLM does: its cells are freed, its tokens kept, and
it is recomputed when room frees (``make_room``, ``start``). Decoding never runs out of
cells, and no request fails because another ran long.

Idle caches are not free: attention spans every used cell of the unified cache, so three idle
640-token caches made a lone request ~14% slower to decode on the starter model. While
requests run together their caches stay (their clients are likely to come back); a request
that starts alone keeps only its own slot's cache, as ``llama-server -np 1`` would (which also
keeps a lone request's answer independent of what other slots hold: attention over a different
set of cells rounds differently). A dropped cache is copied to RAM first (``prompt_cache``),
so the rest of a burst that arrives a moment later gets its prompt back by a copy.
"""

from __future__ import annotations

import ctypes
import logging
import time
from typing import Any

import llama_cpp

from fireside.core.errors import FiresideError
from fireside.core.inference import probs, sampler
from fireside.core.inference.media import Projector
from fireside.core.inference.prompt_cache import MIN_GAIN, PromptCache, common_prefix
from fireside.core.inference.sequence import Sequence

log = logging.getLogger("fireside.inference")


def widen_context(llm: Any, n_ctx: int, n_batch: int, n_seq: int) -> None:
    """Give ``llm`` a context of ``n_ctx`` cells shared by ``n_seq`` sequences.

    ``Llama()`` has no parameter for ``n_seq_max``, so the engine creates it with a tiny
    context and this replaces it; the placeholder is freed first, so the KV cache is never
    allocated twice. The new context registers itself with the model like the old one, so
    ``llm.close()`` still frees it before the weights.
    """
    import contextlib

    from llama_cpp import _internals

    params = llm.context_params
    params.n_ctx = n_ctx
    params.n_batch = n_batch
    params.n_ubatch = min(n_batch, 512)
    params.n_seq_max = n_seq
    params.kv_unified = True
    llm._ctx.close()
    llm._ctx = llm._stack.enter_context(contextlib.closing(
        _internals.LlamaContext(model=llm._model, params=params, verbose=llm.verbose)))
    llm._batch.close()  # sized for the placeholder; Llama.embed() fills it
    llm._batch = llm._stack.enter_context(contextlib.closing(
        _internals.LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=n_ctx, verbose=llm.verbose)))
    llm.n_batch = n_batch


class Batcher:
    """The loaded model's slots and batch; used only on the engine's owner thread."""

    def __init__(self, llm: Any, n_slots: int, n_ctx: int, n_batch: int,
                 projector: Projector | None = None) -> None:
        self.llm = llm
        self.projector = projector  # reads the images of requests that have them
        self.ctx = llm._ctx.ctx
        self.vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self.n_swa = int(llama_cpp.llama_model_n_swa(llm._model.model))
        self.n_ctx = n_ctx
        self.n_batch = max(n_batch, n_slots)
        self.slots: list[list[int]] = [[] for _ in range(n_slots)]
        self._used_at = [0.0] * n_slots
        self._busy: set[int] = set()
        self.ram = PromptCache()  # dropped slot caches, restored when their prompt returns
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._buf = ctypes.create_string_buffer(256)

    def close(self) -> None:
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None

    def forget(self) -> None:
        """The KV cache was cleared behind our back (embeddings): no slot holds anything."""
        self.slots = [[] for _ in self.slots]

    # -- admission -----------------------------------------------------------------------
    def can_join(self, seq: Sequence, running: list[Sequence]) -> bool:
        """Room for what ``seq`` holds now plus a little growth, beside what the running
        requests hold now: never a guess at how long an unbounded reply will run."""
        if len(running) >= len(self.slots):
            return False
        return sum(s.held for s in running) + seq.admit_need <= self.n_ctx

    def make_room(self, running: list[Sequence]) -> list[Sequence]:
        """Before a step: if the cache cannot take one more token for every running request,
        drop idle caches, then preempt the request that arrived last (its cells freed, its
        tokens kept, to be recomputed when it resumes). A lone request is never preempted:
        it runs into the end of the context instead. Returns the preempted, removed from
        ``running``."""
        preempted: list[Sequence] = []
        while sum(len(c) for c in self.slots) + sum(
                len(s.feed) - s.fed if s.filling else 1 for s in running) > self.n_ctx:
            idle = sorted((i for i in range(len(self.slots))
                           if i not in self._busy and self.slots[i]),
                          key=lambda i: self._used_at[i])
            if idle:
                self._evict(idle[0])
                continue
            if len(running) <= 1:
                break
            victim = max(running, key=lambda s: (-s.priority, s.submitted))
            self._preempt(victim, running)
            preempted.append(victim)
        return preempted

    def make_way(self, seq: Sequence, running: list[Sequence]) -> list[Sequence]:
        """A request of higher priority (the person's chat) finds every slot or cell taken:
        preempt the latest-arrived requests of lower priority (API clients) that must go for
        it to join, if that is enough; [] (nothing touched) otherwise."""
        candidates = sorted((s for s in running if s.priority < seq.priority),
                            key=lambda s: s.submitted, reverse=True)
        keep = list(running)
        victims: list[Sequence] = []
        for victim in candidates:
            if self.can_join(seq, keep):
                break
            keep.remove(victim)
            victims.append(victim)
        if not self.can_join(seq, keep):
            return []
        for victim in victims:
            self._preempt(victim, running)
        return victims

    def _preempt(self, victim: Sequence, running: list[Sequence]) -> None:
        """Pause ``victim``: its cells freed (a copy kept in RAM), its tokens and sampler kept
        for ``start`` to resume it."""
        running.remove(victim)
        self._evict(victim.slot)  # its resume restores the copy when it can, or recomputes
        self._busy.discard(victim.slot)
        victim.slot = -1
        victim.preempted += 1

    def _pick_slot(self, tokens: list[int]) -> int:
        free = [i for i in range(len(self.slots)) if i not in self._busy]
        # longest shared prefix; then an empty slot; then the least recently used cache
        return max(free, key=lambda i: (common_prefix(self.slots[i], tokens),
                                        not self.slots[i], -self._used_at[i]))

    def _make_room(self, seq: Sequence, running: list[Sequence]) -> None:
        """Drop idle slots' caches (oldest first) until ``seq`` fits beside the running ones."""
        need = sum(s.held for s in running) + seq.admit_need
        idle = sorted((i for i in range(len(self.slots))
                       if i not in self._busy and i != seq.slot and self.slots[i]),
                      key=lambda i: self._used_at[i])
        held = sum(len(self.slots[i]) for i in idle)
        for i in idle:
            if need + held <= self.n_ctx:
                break
            held -= len(self.slots[i])
            self._evict(i)

    def _drop_idle(self, except_slot: int) -> None:
        for i, cached in enumerate(self.slots):
            if cached and i != except_slot and i not in self._busy:
                self._evict(i)

    def _evict(self, slot: int) -> None:
        """Free ``slot``'s cells, a copy of them kept in RAM for a prompt that comes back."""
        if self.slots[slot]:
            self.ram.save(self.ctx, slot, self.slots[slot])
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self.ctx), slot, 0, -1)
        self.slots[slot] = []

    # -- decoding ------------------------------------------------------------------------
    def _put(self, i: int, token: int, pos: int, slot: int, logits: bool) -> None:
        b = self._batch
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = slot
        b.logits[i] = logits

    def _decode(self, n: int) -> None:
        self._batch.n_tokens = n
        rc = llama_cpp.llama_decode(self.ctx, self._batch)
        if rc != 0:
            raise FiresideError(f"llama.cpp failed to decode (status {rc})")

    def _claim(self, seq: Sequence, tokens: list[int], max_keep: int,
               running: list[Sequence]) -> tuple[int, int]:
        """A free slot for ``tokens``, keeping the cached prefix it shares (at most
        ``max_keep`` tokens), with room made beside the running requests: (slot, kept)."""
        seq.slot = slot = self._pick_slot(tokens)
        self._busy.add(slot)
        if running:
            self._make_room(seq, running)
        else:
            self._drop_idle(except_slot=slot)
        keep = self._whole(seq, min(common_prefix(self.slots[slot], tokens), max_keep))
        found = self.ram.match(tokens, keep)
        if found is not None:  # a dropped cache holds more of this prompt than the slot
            self._evict(slot)
            if self.ram.load(self.ctx, slot, found):
                self.slots[slot] = list(found)
                keep = self._whole(seq, min(common_prefix(self.slots[slot], tokens), max_keep))
            else:
                keep = 0
        elif len(self.slots[slot]) - keep >= MIN_GAIN:  # what it held past the shared prefix
            self.ram.save(self.ctx, slot, self.slots[slot])
        mem = llama_cpp.llama_get_memory(self.ctx)
        if keep and self.n_swa:
            # A window-sized SWA cache may no longer hold the window the kept prefix's tail
            # attends to (llama-server's check): then the prompt is read again.
            pos_min = llama_cpp.llama_memory_seq_pos_min(mem, slot)
            log.debug("slot %d: keep %d, SWA cache from position %d", slot, keep, pos_min)
            if pos_min > 0 and pos_min > keep - self.n_swa:
                keep = 0
        if not llama_cpp.llama_memory_seq_rm(mem, slot, keep, -1):
            llama_cpp.llama_memory_seq_rm(mem, slot, 0, -1)
            keep = 0
        self.slots[slot] = tokens[:keep]
        return slot, keep

    @staticmethod
    def _whole(seq: Sequence, keep: int) -> int:
        """A kept prefix never ends inside an image (its cells are read as one)."""
        return seq.media.whole(keep) if seq.media is not None else keep

    def start(self, seq: Sequence, running: list[Sequence]) -> bool:
        """Give ``seq`` a free slot (keeping the cached prefix it shares); its prompt is read by
        the next steps, beside the running requests' tokens, as llama-server does: a request
        that joins costs the others no decode of its own. A preempted request resumes the same
        way, recomputing its prompt and what it wrote. Always True: it is on the batch."""
        first = not seq.started
        if first:
            seq.started = time.perf_counter()
            # Seed, bias and grammar are the request's own: one seeded API call never fixes
            # the window's "random" replies (no Llama._seed / set_seed() state is used). Built
            # before a slot is claimed: a bad grammar or bias fails this request alone.
            seq.sampler = sampler.build(self.llm, self.vocab, seq.params, seq.grammar)
            seq.greedy = sampler.plain_greedy(seq.params, seq.grammar)
        # a request paused after its first token has that token ready: nothing to sample
        sample = seq.next_token < 0
        tokens = seq.tokens + seq.decoded
        slot, keep = self._claim(seq, tokens, len(tokens) - 1 if sample else len(tokens),
                                 running)  # >= 1 token left to read when logits are needed
        seq.feed, seq.fed, seq.fed_from = tokens, keep, keep
        if first:
            seq.cached = keep
            seq.progress(keep, len(tokens))
        return True

    def step(self, running: list[Sequence]) -> list[Sequence]:
        """One ``llama_decode``: the next token of every request that is writing, then prompt
        chunks of those still reading (arrival order) up to the batch size. Returns the
        requests that have finished."""
        rows: list[tuple[Sequence, int]] = []
        chunks: list[tuple[Sequence, int, int]] = []  # (seq, end of its chunk, its last row)
        done: list[Sequence] = []
        n = 0
        for seq in running:
            if not seq.filling:
                self._put(n, seq.next_token, len(self.slots[seq.slot]), seq.slot, True)
                rows.append((seq, n))
                n += 1
        for seq in running:
            if not seq.filling:
                continue
            if seq.cancelled:  # no need to read the rest of a prompt nobody waits for
                seq.finish = "cancelled"
                done.append(seq)
                continue
            if seq.media is not None:
                try:
                    self._read_images(seq)
                except FiresideError as exc:  # this request's image: it alone ends
                    seq.error, seq.finish = exc, "error"
                    done.append(seq)
                    continue
                if not seq.filling:
                    continue
            begin = seq.fed
            end = min(len(seq.feed), begin + self.n_batch - n)
            if seq.media is not None:
                end = seq.media.text_end(begin, end)
            if end <= begin:
                break
            for i in range(begin, end):
                self._put(n, seq.feed[i], i, seq.slot,
                          seq.next_token < 0 and i == len(seq.feed) - 1)
                n += 1
            chunks.append((seq, end, n - 1))
        if n:
            self._decode(n)
        for seq, row in rows:
            self.slots[seq.slot].append(seq.next_token)
            seq.decoded.append(seq.next_token)
            if not seq.accept(self._sample(seq, row), self.vocab, self._buf):
                done.append(seq)
        for seq, end, row in chunks:
            self.slots[seq.slot].extend(seq.feed[seq.fed:end])
            seq.fed = end
            first = seq.next_token < 0  # no token yet: its first comes from this row
            if first:
                seq.progress(end, len(seq.feed))
            if seq.filling:
                continue
            seq.prefill_tokens += len(seq.feed) - seq.fed_from
            seq.prefilled_at = seq.prefilled_at or time.perf_counter()
            if first and not seq.accept(self._sample(seq, row), self.vocab, self._buf):
                done.append(seq)
        return done

    def _read_images(self, seq: Sequence) -> None:
        """The images where ``seq``'s reading has got to: each encoded and decoded into its
        slot by mtmd (decodes of its own, before the step's), then the text after it."""
        assert seq.media is not None
        while (span := seq.media.span_at(seq.fed)) is not None:
            if self.projector is None:
                raise FiresideError("the model's projector was unloaded")
            self.projector.decode(self.ctx, span, seq.slot, self.n_batch)
            self.slots[seq.slot].extend(seq.feed[span.start:span.end])
            seq.fed = span.end

    def _sample(self, seq: Sequence, row: int) -> int:
        """The request's next token from ``row`` of the last decode (with its probabilities,
        when it asked for them)."""
        top = seq.params.logprobs
        if top is None:
            if seq.greedy:  # the chain's answer, without its per-token candidate array
                return int(probs.logits_row(self.ctx, row, self.n_vocab).argmax())
            return int(seq.sampler.sample(self.llm._ctx, row))
        if seq.params.post_sampling_probs:
            token, prob = probs.sample_with_probs(seq.sampler.sampler, self.ctx, self.vocab,
                                                  row, top, self._buf)
        else:
            token = int(seq.sampler.sample(self.llm._ctx, row))
            prob = probs.model_probs(self.ctx, self.vocab, row, token, top, self._buf)
        seq.probs.append(prob)
        return token

    def release(self, seq: Sequence) -> None:
        """The sequence is over: its slot keeps its cache for the next turn."""
        seq.close()
        if seq.slot >= 0:
            self._busy.discard(seq.slot)
            self._used_at[seq.slot] = time.perf_counter()

    def drop(self, seq: Sequence) -> None:
        """The sequence failed mid-way: its slot's cache is unknown, so empty it."""
        if seq.slot >= 0:
            llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self.ctx), seq.slot, 0, -1)
            self.slots[seq.slot] = []
        self.release(seq)
