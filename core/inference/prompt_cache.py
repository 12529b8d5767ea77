"""Prompt caches kept in RAM after their slot lets them go, as llama-server's ``--cache-ram``.

A slot's KV cells are dropped when a request that runs alone needs attention to stay short, or
when room is needed; a client that comes back with the same conversation (or the same long
system prompt) would then have its whole prompt read again, which on a CPU costs seconds for
what a copy of the cells restores in milliseconds. The cells of a sequence are copied out
with ``llama_state_seq_get_data`` before they are dropped and copied back into a free slot
with ``llama_state_seq_set_data`` when a new prompt shares a longer prefix with them than any
slot does. Least recently used entries go first past the budget; a restore that finds no room
in the KV cache simply fails, and the prompt is read as before.
"""

from __future__ import annotations

import ctypes
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import llama_cpp

log = logging.getLogger("fireside.inference")
BUDGET_BYTES = 1 << 30  # llama-server's default is 8 GiB; a desktop shares its RAM
MIN_TOKENS = 16  # shorter prompts are read again faster than they are looked up
MIN_GAIN = 16  # restore only when it saves at least this many tokens over the slot's own


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PromptCache:
    """Copies of dropped slot caches, keyed by the tokens they hold; owner thread only."""

    def __init__(self, budget: int = BUDGET_BYTES) -> None:
        self.budget = budget
        self.used = 0
        # each entry is the buffer llama.cpp wrote into (no copy) and how much it wrote
        self._entries: OrderedDict[tuple[int, ...], tuple[ctypes.Array[ctypes.c_ubyte], int]] = \
            OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def save(self, ctx: Any, slot: int, tokens: list[int]) -> None:
        """Keep a copy of ``slot``'s cells (which hold ``tokens``) before they are dropped."""
        key = tuple(tokens)
        if len(key) < MIN_TOKENS or key in self._entries:
            if key in self._entries:
                self._entries.move_to_end(key)
            return
        size = int(llama_cpp.llama_state_seq_get_size(ctx, slot))
        if size == 0 or size > self.budget // 4:
            return
        buf = (ctypes.c_ubyte * size)()
        written = int(llama_cpp.llama_state_seq_get_data(ctx, buf, size, slot))
        if written == 0:
            return
        # a kept entry that this one extends is redundant: this one serves its prompts too
        for old in [k for k in self._entries if len(k) <= len(key) and key[:len(k)] == k]:
            self.used -= len(self._entries.pop(old)[0])
        self._entries[key] = (buf, written)
        self.used += size
        while self.used > self.budget and self._entries:
            _, (dropped, _n) = self._entries.popitem(last=False)
            self.used -= len(dropped)

    def match(self, tokens: list[int], have: int) -> tuple[int, ...] | None:
        """The entry sharing the longest prefix with ``tokens``, if it beats the ``have``
        tokens a slot already holds by enough to be worth a copy."""
        best: tuple[int, ...] | None = None
        best_len = have + MIN_GAIN - 1
        for key in self._entries:
            if key[0] != tokens[0] or len(key) <= best_len:
                continue
            n = common_prefix(key, tokens)
            if n > best_len:
                best, best_len = key, n
        return best

    def load(self, ctx: Any, slot: int, key: tuple[int, ...]) -> bool:
        """Copy entry ``key`` into ``slot`` (emptied first); False, the slot left empty, when
        the KV cache has no room for it."""
        data, written = self._entries[key]
        mem = llama_cpp.llama_get_memory(ctx)
        llama_cpp.llama_memory_seq_rm(mem, slot, 0, -1)
        if int(llama_cpp.llama_state_seq_set_data(ctx, data, written, slot)) == 0:
            llama_cpp.llama_memory_seq_rm(mem, slot, 0, -1)
            log.debug("prompt cache: no room to restore %d tokens", len(key))
            return False
        self._entries.move_to_end(key)
        log.debug("prompt cache: restored %d tokens into slot %d", len(key), slot)
        return True
