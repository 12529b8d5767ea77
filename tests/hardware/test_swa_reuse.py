"""Window-sized SWA caches (the engine's default, issue 17) and prompt-prefix reuse.

A sliding-window cache keeps only the last window of a slot's positions. A new prompt that
shares a long prefix with that slot can reuse it only if the cache still holds the window the
prefix's tail attends to; otherwise the prompt must be read again (llama-server's rule, with
``llama_memory_seq_pos_min``). Reusing it anyway decodes against missing cells.
"""

from __future__ import annotations

from pathlib import Path

from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings, SamplingParams

from .synthetic import write

GREEDY = SamplingParams(max_tokens=2, temperature=0.0, seed=1)


def test_a_prefix_older_than_the_window_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path / "g3.gguf", "gemma3", window=64)
    engine = Engine()
    try:
        engine.load(path, LoadSettings(n_ctx=2048, parallel=1))
        # The window cache holds 64 x 1 slot + one 512-token ubatch, padded: 768 cells.
        shared = "hello the " * 30  # ~270 tokens
        first = engine.complete(shared + "a is " * 200, GREEDY)
        assert first.stats.prompt_tokens > 1000  # the cache had to drop the shared part
        again = engine.complete(shared + "hi hi " * 40, GREEDY)
        # the shared prefix's window is gone from the cache: everything is read again
        assert again.stats.prefill_tokens == again.stats.prompt_tokens, again.stats
        # a continuation of the whole cached prompt keeps its prefix
        more = engine.complete(shared + "hi hi " * 40 + "the", GREEDY)
        assert more.stats.prefill_tokens < more.stats.prompt_tokens, more.stats
    finally:
        engine.unload()
