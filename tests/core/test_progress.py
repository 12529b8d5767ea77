"""Prompt processing is reported while it happens, so a window can say how far it got."""

from __future__ import annotations

from fireside.core.inference.engine import Engine
from fireside.core.inference.types import SamplingParams


def test_prefill_progress_counts_up_to_the_prompt(engine: Engine) -> None:
    seen: list[tuple[int, int]] = []
    long_prompt = "Summarise this. " + "The lighthouse keeper climbed the stairs. " * 150
    result = engine.chat([{"role": "user", "content": long_prompt}],
                         SamplingParams(max_tokens=2, temperature=0.0),
                         on_progress=lambda done, total: seen.append((done, total)))
    total = result.stats.prompt_tokens
    assert total > 1000
    assert seen[-1] == (total, total)
    assert len(seen) >= 3  # several chunks of n_batch, reported as they finish
    dones = [d for d, _t in seen]
    assert dones == sorted(dones) and all(t == total for _d, t in seen)


def test_a_failing_progress_listener_does_not_fail_the_reply(engine: Engine) -> None:
    def boom(_done: int, _total: int) -> None:
        raise RuntimeError("display broke")

    result = engine.chat([{"role": "user", "content": "Hi"}],
                         SamplingParams(max_tokens=3, temperature=0.0), on_progress=boom)
    assert result.stats.completion_tokens >= 1
