"""One submission API: ``engine.submit(request) -> handle`` for the window, the server and the CLI.

A handle comes back before the engine has done anything; its text can be pulled (take, stream)
or pushed (on_token), it can be stopped at any point, and its answer carries the figures.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fireside.core.inference.engine import Engine
from fireside.core.inference.handle import Handle, hold_wakes, release_wakes
from fireside.core.inference.sequence import Sequence
from fireside.core.inference.types import (
    CancelToken,
    ChatRequest,
    LoadSettings,
    SamplingParams,
    TextRequest,
)

ROOT = Path(__file__).resolve().parents[2]
STORY = [{"role": "user", "content": "Tell a very long story about a lighthouse."}]
LONG = SamplingParams(temperature=0.0, max_tokens=300, repeat_penalty=1.0)


@pytest.fixture
def one_slot(starter_file: Path) -> Iterator[Engine]:
    eng = Engine()
    eng.load(starter_file, LoadSettings(n_ctx=1024, parallel=1))
    yield eng
    eng.unload()
    eng.release_thread(10)


def test_submit_returns_at_once_and_the_pulled_text_is_the_answer(engine: Engine) -> None:
    before = time.perf_counter()
    handle = engine.submit(ChatRequest(STORY, SamplingParams(temperature=0.0, max_tokens=40)))
    submitted_in = time.perf_counter() - before
    assert not handle.done()  # nothing waited for the engine
    assert submitted_in < 0.5
    pieces = list(handle.stream())
    result = handle.result()
    assert len(pieces) > 1 and "".join(pieces) == result.text
    assert result.stats.completion_tokens > 1 and result.model == engine.loaded.name  # type: ignore[union-attr]
    assert handle.stats == result.stats


def test_take_never_blocks_and_loses_nothing(engine: Engine) -> None:
    handle = engine.submit(TextRequest("The history of the printing press begins",
                                       SamplingParams(temperature=0.0, max_tokens=32)))
    taken: list[str] = []
    while True:
        start = time.perf_counter()
        update = handle.take()
        assert time.perf_counter() - start < 0.05
        taken.append(update.text)
        if update.ended:
            break
        time.sleep(0.01)
    assert update.completion is not None and update.error is None
    assert "".join(taken) == update.completion.text
    assert handle.take().text == ""  # taken once


def test_notify_wakes_once_per_take(engine: Engine) -> None:
    wakes = threading.Semaphore(0)
    count = [0]

    def wake() -> None:
        count[0] += 1
        wakes.release()

    handle = engine.submit(TextRequest("Once upon a time,", SamplingParams(
        temperature=0.0, max_tokens=48)))
    handle.notify(wake)
    assert wakes.acquire(timeout=60)
    time.sleep(0.3)  # many tokens arrive meanwhile, but nobody took: no more wake-ups
    assert count[0] == 1
    handle.take()
    handle.result(timeout=60)
    assert wakes.acquire(timeout=5)  # news after the take (more text, the end) wakes again


def test_wakes_held_by_a_thread_go_out_when_it_releases_them() -> None:
    """The engine thread holds a step's wake-ups until just before its next decode (a woken
    event loop would otherwise take the GIL while the engine samples); other threads' go out
    at once, and none is lost."""
    calls: list[str] = []
    handle = Handle(Sequence(lambda: ([], []), SamplingParams(), None, None, None))
    handle.notify(lambda: calls.append(threading.current_thread().name))

    def engine_like() -> None:
        hold_wakes()
        handle._on_text("a")
        calls.append("sampled")
        release_wakes()

    thread = threading.Thread(target=engine_like, name="holder")
    thread.start()
    thread.join()
    assert calls == ["sampled", "holder"]
    assert handle.take().text == "a"
    handle._on_text("b")
    assert calls[-1] == threading.current_thread().name


def test_a_failing_waker_costs_only_its_own_wake_up(one_slot: Engine) -> None:
    """Held wake-ups run on the engine thread: one that raises is logged, and the engine and
    the request go on (an escaping error would have ended the engine thread)."""
    def waker() -> None:
        if threading.current_thread().name == "fireside-engine":
            raise RuntimeError("a consumer's bug")

    handle = one_slot.submit(TextRequest("Once upon a time,", SamplingParams(
        temperature=0.0, max_tokens=8)))
    handle.notify(waker)
    assert handle.result(timeout=60).stats.completion_tokens > 0
    after = one_slot.submit(TextRequest("In the year 2300,", SamplingParams(max_tokens=4)))
    assert after.result(timeout=60).text


def test_pushed_tokens_run_on_the_engine_thread(engine: Engine) -> None:
    threads: set[str] = set()
    handle = engine.submit(TextRequest("In the year 2300,", SamplingParams(max_tokens=8)),
                           on_token=lambda _t: threads.add(threading.current_thread().name))
    result = handle.result(timeout=60)
    assert threads == {"fireside-engine"}
    assert handle.take().text == ""  # pushed text is not buffered a second time
    assert result.text


def test_a_queued_handle_stops_at_once(one_slot: Engine) -> None:
    running = one_slot.submit(ChatRequest(STORY, LONG))
    reading = running.stream()
    next(reading)  # it has started and holds the only slot
    queued = one_slot.submit(ChatRequest(STORY, SamplingParams(max_tokens=8)))
    time.sleep(0.2)
    assert one_slot.queued == 1 and not queued.done()
    start = time.perf_counter()
    queued.cancel()
    result = queued.result(timeout=2)
    assert time.perf_counter() - start < 0.5
    assert result.finish_reason == "cancelled" and result.text == ""
    assert not running.done()  # the running request is untouched
    reading.close()
    assert running.result(timeout=60).finish_reason == "cancelled"


def test_a_caller_token_and_an_abandoned_stream_both_stop_the_request(engine: Engine) -> None:
    token = CancelToken()
    handle = engine.submit(ChatRequest(STORY, LONG), cancel=token)
    stream = handle.stream()
    next(stream)
    token.cancel()
    assert handle.result(timeout=30).finish_reason == "cancelled"

    other = engine.submit(ChatRequest(STORY, LONG))
    stream = other.stream()
    next(stream)
    stream.close()  # the reader went away (a client disconnected, a CLI's Ctrl-C)
    result = other.result(timeout=30)
    assert result.finish_reason == "cancelled" and result.stats.completion_tokens < 300


def test_errors_come_through_the_handle(engine: Engine) -> None:
    huge = "word " * 5000
    handle = engine.submit(ChatRequest([{"role": "user", "content": huge}]))
    from fireside.core.errors import ContextOverflowError

    with pytest.raises(ContextOverflowError):
        handle.result(timeout=60)
    update = handle.take()
    assert update.ended and isinstance(update.error, ContextOverflowError)


def test_window_server_and_cli_all_submit_through_the_one_api() -> None:
    """The hand-written "submit, stream, cancel, finish" copies are gone: no front calls the
    blocking engine.chat/complete, and each of them calls submit()."""
    fronts = {"window": ROOT / "gui" / "bridge.py", "server": ROOT / "core" / "server" / "app.py",
              "cli": ROOT / "core" / "cli" / "run_cmd.py"}
    for name, path in fronts.items():
        source = path.read_text()
        assert re.search(r"engine\.submit\b", source), name  # called, or handed on as the submit
        assert not re.search(r"engine\.(chat|complete)\(", source), name
    workers = (ROOT / "gui" / "workers.py").read_text()
    assert "class ChatWorker" not in workers and "class TokenBuffer" not in workers
