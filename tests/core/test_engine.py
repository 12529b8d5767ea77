"""The engine with the real starter model: streaming, cancel, stats, errors, sharing."""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from pathlib import Path

import pytest

from fireside.core import context
from fireside.core.errors import BadModelFileError, ContextOverflowError, ModelNotLoadedError
from fireside.core.inference import sampler
from fireside.core.inference.engine import Engine
from fireside.core.inference.owner import ENGINE_NICE
from fireside.core.inference.types import CancelToken, LoadSettings, SamplingParams

ASK = [{"role": "user", "content": "Name three colours."}]


def test_stream_matches_text_and_stats(engine: Engine) -> None:
    pieces: list[str] = []
    result = engine.chat(ASK, SamplingParams(max_tokens=24, seed=1), on_token=pieces.append)
    assert result.text and "".join(pieces) == result.text
    s = result.stats
    assert s.prompt_tokens > 5 and 0 < s.completion_tokens <= 24
    assert s.context_used == s.prompt_tokens + s.completion_tokens
    assert s.context_limit == 2048
    assert s.ttft_s > 0 and s.decode_tokens_per_s > 0 and s.prefill_tokens_per_s > 0
    assert result.finish_reason in ("stop", "length")


def test_seed_makes_answers_repeatable(engine: Engine) -> None:
    params = SamplingParams(max_tokens=16, seed=42, temperature=0.9)
    assert engine.chat(ASK, params).text == engine.chat(ASK, params).text


def test_plain_greedy_takes_the_token_the_chain_would(engine: Engine) -> None:
    """Greedy requests skip llama.cpp's sampler chain for an argmax of their own logits row;
    a no-op bias sends the same request through the chain: the same tokens come out."""
    plain = SamplingParams(temperature=0.0, max_tokens=32, repeat_penalty=1.0)
    chained = dataclasses.replace(plain, logit_bias={0: 0.0})
    assert sampler.plain_greedy(plain, None) and not sampler.plain_greedy(chained, None)
    assert not sampler.plain_greedy(dataclasses.replace(plain, repeat_penalty=1.1), None)
    fast, slow = engine.chat(ASK, plain), engine.chat(ASK, chained)
    assert len(fast.tokens) > 8 and fast.tokens == slow.tokens


def test_cancel_mid_stream(engine: Engine) -> None:
    cancel = CancelToken()
    seen: list[str] = []

    def on_token(text: str) -> None:
        seen.append(text)
        if len(seen) == 3:
            cancel.cancel()

    result = engine.chat([{"role": "user", "content": "Write a long story about a fox."}],
                         SamplingParams(max_tokens=300), on_token=on_token, cancel=cancel)
    assert result.finish_reason == "cancelled"
    assert result.stats.completion_tokens <= 6


def test_requests_from_many_threads(engine: Engine) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        try:
            results.append(engine.chat([{"role": "user", "content": f"Count to {i}."}],
                                       SamplingParams(max_tokens=8)).finish_reason)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 3


def test_text_completion(engine: Engine) -> None:
    result = engine.complete("The capital of France is", SamplingParams(max_tokens=5, seed=1))
    assert result.stats.completion_tokens > 0 and result.text


def test_context_overflow_is_refused(engine: Engine) -> None:
    long = "word " * 3000
    with pytest.raises(ContextOverflowError) as info:
        engine.chat([{"role": "user", "content": long}])
    assert info.value.n_ctx == 2048 and info.value.prompt_tokens > 2048


def test_embeddings_share_the_model(engine: Engine) -> None:
    a, b, c = engine.embed(["the cat sat", "a cat was sitting", "quarterly tax filing"])
    dot = lambda x, y: sum(i * j for i, j in zip(x, y, strict=True))  # noqa: E731
    assert len(a) == 576 and abs(dot(a, a) - 1) < 1e-3
    assert dot(a, b) > dot(a, c)
    assert engine.chat(ASK, SamplingParams(max_tokens=4)).text  # still generates afterwards


def test_load_errors_and_unload(tmp_path: Path, starter_file: Path) -> None:
    eng = Engine()
    with pytest.raises(ModelNotLoadedError):
        eng.chat(ASK)
    junk = tmp_path / "junk.gguf"
    junk.write_text("junk")
    with pytest.raises(BadModelFileError):
        eng.load(junk)
    events: list[str] = []
    eng.add_listener(lambda event, _m: events.append(event))
    loaded = eng.load(starter_file, LoadSettings(n_ctx=512, kv_cache_type="q8_0"))
    assert loaded.n_ctx == 512 and eng.loaded is loaded
    eng.unload()
    assert eng.loaded is None and events == ["loaded", "unloaded"]


def test_stop_strings_end_the_answer(engine: Engine) -> None:
    free = engine.chat(ASK, SamplingParams(max_tokens=30, seed=5, temperature=0.0))
    word = free.text.split()[2]
    cut = engine.chat(ASK, SamplingParams(max_tokens=30, seed=5, temperature=0.0, stop=[word]))
    assert cut.finish_reason == "stop" and word not in cut.text
    assert free.text.startswith(cut.text)


def test_shared_prefix_is_not_prefilled_twice(engine: Engine) -> None:
    convo = [{"role": "system", "content": "You are a helpful assistant. " * 20}, *ASK]
    engine.chat(convo, SamplingParams(max_tokens=2))
    again = engine.chat(convo, SamplingParams(max_tokens=2))
    assert again.stats.prefill_tokens < again.stats.prompt_tokens // 4


def test_held_back_tail() -> None:
    from fireside.core.inference.sequence import held_back as _held_back

    assert _held_back("hello wor", ["world"]) == 3
    assert _held_back("hello", ["xyz"]) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness: Linux")
def test_the_engine_gives_way_only_to_a_window(app_ctx: context.AppContext) -> None:
    """Headless (a server), the engine thread runs at the process's priority, as llama-server
    does; in a window's process it runs ENGINE_NICE lower, so the GUI thread never waits."""
    def nice_of_engine_thread(engine: Engine) -> int:
        return engine._owner.call(lambda: os.getpriority(
            os.PRIO_PROCESS, threading.get_native_id()))

    base = os.getpriority(os.PRIO_PROCESS, 0)
    headless = app_ctx.engine
    try:
        assert nice_of_engine_thread(headless) == base
    finally:
        headless.release_thread()
    windowed = context.build()
    windowed.share_with_window()
    try:
        assert nice_of_engine_thread(windowed.engine) == min(19, base + ENGINE_NICE)
    finally:
        windowed.engine.release_thread()
