"""What belongs to one request stays with it: its seed, and a Stop while it is still queued."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fireside.core.errors import ModelNotLoadedError
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import CancelToken, LoadSettings, SamplingParams

PROMPT = [{"role": "user", "content": "Invent a name for a new colour and describe it."}]


def _text(engine: Engine, seed: int | None) -> str:
    params = SamplingParams(temperature=1.2, top_k=0, top_p=1.0, min_p=0.0, max_tokens=24,
                            seed=seed)
    return engine.chat(PROMPT, params).text


def test_a_seed_belongs_to_its_request(engine: Engine) -> None:
    seeded = _text(engine, 1234)
    first, second = _text(engine, None), _text(engine, None)
    assert first != second  # before: both reused 1234, the seed of the request before them
    assert seeded not in (first, second)
    assert _text(engine, 1234) == seeded  # a seed still reproduces its reply


def test_an_answer_names_the_model_that_wrote_it(engine: Engine) -> None:
    result = engine.chat(PROMPT, SamplingParams(max_tokens=2))
    assert engine.loaded is not None and result.model == engine.loaded.name


@pytest.fixture
def one_slot(starter_file: Path) -> Iterator[Engine]:
    eng = Engine()
    eng.load(starter_file, LoadSettings(n_ctx=1024, parallel=1))
    yield eng
    eng.unload()
    eng.release_thread(10)


def test_stop_of_a_queued_request_ends_it_at_once(one_slot: Engine) -> None:
    long = SamplingParams(temperature=0.0, max_tokens=400, repeat_penalty=1.0)
    started = threading.Event()
    first: list[str] = []

    def busy() -> None:
        result = one_slot.chat([{"role": "user", "content": "Tell a very long story."}], long,
                               on_token=lambda _t: started.set())
        first.append(result.finish_reason)

    runner = threading.Thread(target=busy)
    runner.start()
    assert started.wait(60)
    cancel = CancelToken()
    answer: list[object] = []
    waiter = threading.Thread(target=lambda: answer.append(
        one_slot.chat(PROMPT, SamplingParams(max_tokens=8), cancel=cancel)))
    waiter.start()
    time.sleep(0.3)
    assert one_slot.queued == 1  # it waits behind the long one (one slot)
    cancel.cancel()
    waiter.join(2.0)
    assert not waiter.is_alive(), "a queued request waited for its turn to be cancelled"
    assert not first  # the long request is still running
    (result,) = answer
    assert result.finish_reason == "cancelled" and result.text == ""  # type: ignore[attr-defined]
    runner.join(120)
    assert first == ["length"]


def test_tokenize_does_not_wait_for_the_batch(one_slot: Engine) -> None:
    started = threading.Event()
    done = threading.Event()

    def busy() -> None:
        one_slot.chat([{"role": "user", "content": "Tell a very long story."}],
                      SamplingParams(temperature=0.0, max_tokens=300, repeat_penalty=1.0),
                      on_token=lambda _t: started.set())
        done.set()

    runner = threading.Thread(target=busy)
    runner.start()
    assert started.wait(60)
    t0 = time.perf_counter()
    tokens = one_slot.tokenize("The lighthouse keeper climbed the stairs.")
    waited = time.perf_counter() - t0
    assert tokens and not done.is_set()  # answered while the generation still ran
    assert waited < 1.0  # before: it queued behind the whole generation (seconds)
    runner.join(120)


def test_unload_waits_for_readers_and_readers_never_crash(starter_file: Path) -> None:
    eng = Engine()
    eng.load(starter_file, LoadSettings(n_ctx=512, parallel=1))
    stop = threading.Event()
    outcomes: list[str] = []

    def hammer() -> None:
        while not stop.is_set():
            try:
                eng.tokenize("word " * 200)
                eng.render_chat([{"role": "user", "content": "hi"}])
                outcomes.append("ok")
            except ModelNotLoadedError:
                outcomes.append("unloaded")

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    for _ in range(3):  # unload and load again under the readers' feet
        eng.unload()
        eng.load(starter_file, LoadSettings(n_ctx=512, parallel=1))
    stop.set()
    for t in threads:
        t.join(10)
    eng.unload()
    eng.release_thread(10)
    assert "ok" in outcomes  # and the process is still here: no use-after-free
