"""Continuous batching on the one engine thread, with the real starter model.

Concurrent requests must decode together (that is the server's aggregate speed), keep their
own answers, stay in arrival order when they cannot fit, and never reach llama.cpp from more
than one OS thread (a second OpenMP team made every request ~30% slower).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fireside.core.inference.engine import Engine
from fireside.core.inference.types import CancelToken, Completion, LoadSettings, SamplingParams

PROMPTS = ["Once upon a time, in a small village by the sea,",
           "The history of the printing press begins",
           "Here is a detailed recipe for bread:",
           "In the year 2300, humanity finally"]
GREEDY = SamplingParams(temperature=0.0, max_tokens=24, repeat_penalty=1.0)


@pytest.fixture
def small_engine(starter_file: Path) -> Iterator[Engine]:
    """Own engine: these tests change load settings and must not disturb the shared one."""
    eng = Engine()
    yield eng
    eng.unload()
    eng.release_thread(10)


class Trace:
    """When each request saw its first token and when it ended, on one clock."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.end: dict[int, float] = {}
        self.threads: set[str] = set()
        self.results: dict[int, Completion] = {}
        self.errors: dict[int, BaseException] = {}

    def on_token(self, i: int) -> Callable[[str], None]:
        def seen(_text: str) -> None:
            self.first.setdefault(i, time.perf_counter())
            self.threads.add(threading.current_thread().name)
        return seen

    def run(self, eng: Engine, prompts: list[str], params: SamplingParams,
            cancels: dict[int, CancelToken] | None = None) -> None:
        def ask(i: int) -> None:
            try:
                self.results[i] = eng.complete(prompts[i], params, on_token=self.on_token(i),
                                               cancel=(cancels or {}).get(i))
            except BaseException as exc:  # noqa: BLE001 - asserted by the test
                self.errors[i] = exc
            self.end[i] = time.perf_counter()

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prompts))]
        for t in threads:
            t.start()
            time.sleep(0.005)  # arrival order is part of what is tested
        for t in threads:
            t.join(120)


def test_concurrent_requests_decode_together(engine: Engine) -> None:
    solo = [engine.complete(p, GREEDY).text for p in PROMPTS]
    trace = Trace()
    trace.run(engine, PROMPTS, GREEDY)
    assert not trace.errors
    # every request was streaming before any of them finished: one batch, not a queue
    assert max(trace.first.values()) < min(trace.end.values())
    for i, text in enumerate(solo):
        got = trace.results[i]
        assert got.stats.completion_tokens == 24 and got.finish_reason == "length"
        # the prompt is prefilled alone, so the first token is exactly the solo one; later
        # tokens come from 4-row matmuls whose rounding may differ from a 1-row one
        assert got.text[:4] == text[:4]
    assert len({r.text for r in trace.results.values()}) == 4
    assert trace.threads == {"fireside-engine"}  # llama.cpp is only ever called from there


def test_one_slot_serves_in_arrival_order_with_identical_answers(
        small_engine: Engine, starter_file: Path) -> None:
    small_engine.load(starter_file, LoadSettings(n_ctx=1024, parallel=1))
    solo = [small_engine.complete(p, GREEDY).text for p in PROMPTS[:3]]
    trace = Trace()
    trace.run(small_engine, PROMPTS[:3], GREEDY)
    assert [trace.results[i].text for i in range(3)] == solo
    assert trace.end[0] < trace.first[1] and trace.end[1] < trace.first[2]


def test_requests_that_outgrow_the_cache_together_are_preempted_and_all_complete(
        small_engine: Engine, starter_file: Path) -> None:
    small_engine.load(starter_file, LoadSettings(n_ctx=512, parallel=4))
    params = SamplingParams(temperature=0.0, max_tokens=300, repeat_penalty=1.0,
                            stop=["\u0000"])  # never hit: every request runs its 300 tokens
    trace = Trace()
    trace.run(small_engine, PROMPTS[:2], params)
    assert not trace.errors
    # Both start at once (nothing is reserved for a guess); 2 x (prompt + 300) cells outgrow
    # the 512-cell context, so the later one is paused, recomputed, and still completes.
    assert trace.first[1] < trace.end[0]
    assert [trace.results[i].stats.completion_tokens for i in range(2)] == [300, 300]
    assert trace.results[1].stats.preempted >= 1 and trace.results[0].stats.preempted == 0


def test_a_failing_callback_ends_only_its_own_request(engine: Engine) -> None:
    done: list[Completion] = []
    other = threading.Thread(target=lambda: done.append(engine.complete(PROMPTS[1], GREEDY)))
    calls = 0

    def broken(_text: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("consumer bug")

    other.start()
    with pytest.raises(RuntimeError, match="consumer bug"):
        engine.complete(PROMPTS[0], SamplingParams(max_tokens=200), on_token=broken)
    other.join(60)
    assert done and done[0].stats.completion_tokens == 24
    assert engine.complete(PROMPTS[0], GREEDY).text  # the slot is usable again


def test_cancelling_one_request_leaves_the_others(engine: Engine) -> None:
    cancels = {0: CancelToken()}
    cancels[0].cancel()  # its client left before it started
    trace = Trace()
    trace.run(engine, PROMPTS[:3], GREEDY, cancels)
    assert trace.results[0].finish_reason == "cancelled"
    assert trace.results[0].stats.completion_tokens == 0
    assert [trace.results[i].stats.completion_tokens for i in (1, 2)] == [24, 24]


def test_exclusive_calls_wait_for_the_batch_then_it_resumes(engine: Engine) -> None:
    trace = Trace()
    runner = threading.Thread(target=trace.run, args=(engine, PROMPTS[:2],
                                                      SamplingParams(max_tokens=64)))
    runner.start()
    while not trace.first:
        time.sleep(0.001)
    vectors = engine.embed(["a cat"])  # waits for the batch to drain, then runs alone
    embedded_at = time.perf_counter()
    runner.join(60)
    assert len(vectors[0]) == 576 and max(trace.end.values()) <= embedded_at
    assert engine.complete(PROMPTS[0], GREEDY).stats.completion_tokens == 24


def test_the_engine_thread_ends_and_restarts(small_engine: Engine, starter_file: Path) -> None:
    small_engine.load(starter_file, LoadSettings(n_ctx=512))
    assert any(t.name == "fireside-engine" for t in threading.enumerate())
    assert small_engine.release_thread(10)
    assert small_engine.loaded is not None  # the model stays; only the thread went
    assert small_engine.complete(PROMPTS[0], GREEDY).stats.completion_tokens == 24


def test_a_lone_request_keeps_only_its_own_cache(engine: Engine) -> None:
    trace = Trace()
    trace.run(engine, PROMPTS, GREEDY)
    batcher = engine._batcher
    assert batcher is not None and sum(1 for s in batcher.slots if s) == 4
    again = engine.complete(PROMPTS[2], GREEDY)
    # its prompt came back from the slot that held it; the three idle caches were dropped
    # (attention spans every used cell, so they would slow this request down)
    assert again.stats.prefill_tokens == 1
    assert [bool(s) for s in batcher.slots].count(True) == 1


def test_a_request_without_max_tokens_does_not_hold_the_others_back(
        small_engine: Engine, starter_file: Path) -> None:
    small_engine.load(starter_file, LoadSettings(n_ctx=2048, parallel=4))
    trace = Trace()
    results: dict[int, Completion] = {}
    unbounded = SamplingParams(temperature=0.0, max_tokens=None, repeat_penalty=1.0,
                               stop=["\u0000"])  # runs long: to the end of its room

    def first() -> None:
        results[0] = small_engine.complete(PROMPTS[0], unbounded, on_token=trace.on_token(0),
                                           cancel=stopper)

    stopper = CancelToken()
    runner = threading.Thread(target=first)
    runner.start()
    time.sleep(0.3)
    bounded = SamplingParams(temperature=0.0, max_tokens=24, repeat_penalty=1.0)
    trace.run(small_engine, ["", *PROMPTS[1:]], bounded)  # slot 0 of the trace is unused
    assert set(trace.first) >= {1, 2, 3} and not {1, 2, 3} & set(trace.errors)
    assert 0 not in results  # all three answered while the unbounded one still ran
    stopper.cancel()
    runner.join(60)
    assert results[0].finish_reason == "cancelled" and results[0].stats.completion_tokens > 24


def test_the_persons_chat_does_not_wait_for_api_requests(small_engine: Engine,
                                                         starter_file: Path) -> None:
    small_engine.load(starter_file, LoadSettings(n_ctx=1024, parallel=2))
    long = SamplingParams(temperature=0.0, max_tokens=250, repeat_penalty=1.0, stop=["\u0000"])
    api: dict[int, Completion] = {}
    started = [threading.Event(), threading.Event()]

    def client(i: int) -> None:
        api[i] = small_engine.complete(PROMPTS[i], long, on_token=lambda _t: started[i].set())

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    assert all(e.wait(60) for e in started)  # both slots busy with API requests
    first: list[float] = []
    t0 = time.perf_counter()
    chat = small_engine.chat([{"role": "user", "content": "Say hi."}],
                             SamplingParams(max_tokens=4, temperature=0.0), priority=1,
                             on_token=lambda _t: first.append(time.perf_counter()))
    assert first and chat.stats.completion_tokens >= 1
    assert not api  # answered while both API requests still ran: it did not wait for a slot
    assert first[0] - t0 < 5.0
    for t in threads:
        t.join(120)
    assert sorted(r.stats.completion_tokens for r in api.values()) == [250, 250]
    assert sum(r.stats.preempted for r in api.values()) >= 1  # one made way, then finished


def test_a_long_prompt_is_read_beside_the_requests_already_writing(engine: Engine) -> None:
    """A joining prompt of ~1,200 tokens is read in batch-sized chunks, each in the same decode
    as the running request's next token: that request keeps writing meanwhile (before, the
    whole prompt was read first, and the running request got no token until it was done)."""
    long_prompt = "The lighthouse keeper wrote in his log: " + "the sea was calm. " * 240
    assert len(engine.tokenize(long_prompt)) > 1100
    seen: list[float] = []
    writer = threading.Thread(target=lambda: engine.complete(
        PROMPTS[0], SamplingParams(temperature=0.0, max_tokens=150, repeat_penalty=1.0),
        on_token=lambda _t: seen.append(time.perf_counter())))
    writer.start()
    while len(seen) < 5:
        time.sleep(0.005)
    first: list[float] = []
    asked = time.perf_counter()
    got = engine.complete(long_prompt, GREEDY, on_token=lambda _t: first.append(
        time.perf_counter()) if not first else None)
    writer.join(60)
    meanwhile = [t for t in seen if asked < t < first[0]]
    assert len(meanwhile) >= 2, f"{len(meanwhile)} tokens while the long prompt was read"
    assert got.stats.prefill_tokens > 1100 and got.stats.completion_tokens == 24


def test_a_dropped_cache_comes_back_from_ram(small_engine: Engine, starter_file: Path) -> None:
    """llama-server's --cache-ram: a prompt whose slot cache was dropped (here: another request
    started alone, so idle caches went) is restored from its RAM copy instead of read again,
    and answers exactly as before; so is a burst of such prompts arriving together."""
    small_engine.load(starter_file, LoadSettings(n_ctx=1024, parallel=2))
    story = "The lighthouse keeper wrote in his log every night. " * 6 + "Tonight"
    recipe = "Here is a detailed recipe for bread, step by step, for beginners. " * 6
    first = small_engine.complete(story, GREEDY)
    small_engine.complete(recipe, GREEDY)  # it starts alone: the story's cache is dropped
    batcher = small_engine._batcher
    assert batcher is not None and len(batcher.ram) >= 1
    assert sum(1 for s in batcher.slots if s) == 1
    again = small_engine.complete(story, GREEDY)
    assert again.stats.prefill_tokens == 1 and first.stats.prefill_tokens > 50
    assert again.text == first.text
    # a burst: the first to arrive starts alone (the others' caches go to RAM), the rest
    # arrive a moment later and are copied back instead of read again
    trace = Trace()
    trace.run(small_engine, [story, recipe], GREEDY)
    assert [trace.results[i].stats.prefill_tokens for i in range(2)] == [1, 1]
