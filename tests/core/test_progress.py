"""Prompt processing is reported while it happens, so a window can say how far it got."""

from __future__ import annotations

import time

from fireside.core.inference.engine import Engine
from fireside.core.inference.handle import Handle
from fireside.core.inference.types import ChatRequest, SamplingParams


def _drain(handle: Handle) -> list[tuple[int, int]]:
    """Poll the handle as the window's frame timer does, but fast enough to see each chunk."""
    seen: list[tuple[int, int]] = []
    while True:
        update = handle.take()
        if update.progress is not None:
            seen.append(update.progress)
        if update.ended:
            return seen
        time.sleep(0.002)


def test_prefill_progress_counts_up_to_the_prompt(engine: Engine) -> None:
    long_prompt = "Summarise this. " + "The lighthouse keeper climbed the stairs. " * 150
    handle = engine.submit(ChatRequest([{"role": "user", "content": long_prompt}],
                                       SamplingParams(max_tokens=2, temperature=0.0)))
    seen = _drain(handle)
    total = handle.result().stats.prompt_tokens
    assert total > 1000
    assert seen[-1] == (total, total)
    assert len(seen) >= 3  # several chunks of n_batch, reported as they finish
    dones = [d for d, _t in seen]
    assert dones == sorted(dones) and all(t == total for _d, t in seen)


def test_progress_nobody_reads_does_not_hold_the_reply(engine: Engine) -> None:
    handle = engine.submit(ChatRequest([{"role": "user", "content": "Hi"}],
                                       SamplingParams(max_tokens=3, temperature=0.0)))
    result = handle.result(timeout=60)
    assert result.stats.completion_tokens >= 1
