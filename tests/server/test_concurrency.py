"""Fair queueing on the one engine, cancellation on disconnect, shutdown with live streams."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest

from fireside.core.inference.engine import Engine
from fireside.core.inference.handle import Handle
from fireside.core.inference.types import Completion, SamplingParams

from .conftest import MakeServer

LONG = [{"role": "user", "content": "Write a very long story about a dragon and a knight."}]


@pytest.fixture
def recorded(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Completion]:
    """Every real completion the engine finishes (the engine itself, observed, not mocked)."""
    done: list[Completion] = []
    real = engine.submit

    def submit(*args: Any, **kwargs: Any) -> Handle:
        handle = real(*args, **kwargs)
        handle.add_done_callback(lambda h: done.append(h.result()))
        return handle

    monkeypatch.setattr(engine, "submit", submit)
    return done


def test_four_concurrent_streams_complete_with_correct_usage(
        client: openai.OpenAI, model_name: str, engine: Engine) -> None:
    prompts = [f"Tell me a fact about the number {i}." for i in range(4)]

    def one(prompt: str) -> tuple[str, Any, str | None, int]:
        stream = client.chat.completions.create(
            model=model_name, messages=[{"role": "user", "content": prompt}], max_tokens=24,
            temperature=0, stream=True, stream_options={"include_usage": True})
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = next(c.choices[0].finish_reason for c in reversed(chunks) if c.choices)
        return text, chunks[-1].usage, finish, len(chunks)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, prompts))
    for prompt, (text, usage, finish, _n) in zip(prompts, results, strict=True):
        assert text.strip()
        assert usage is not None and finish in ("stop", "length")
        if finish == "length":
            assert usage.completion_tokens == 24
        else:
            assert 0 < usage.completion_tokens < 24
        rendered = engine.render_chat([{"role": "user", "content": prompt}])
        expected = len(engine.tokenize(rendered))
        assert usage.prompt_tokens in (expected, expected + 1)  # + BOS where the model adds one
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_disconnect_mid_stream_cancels_the_generation(
        make_server: MakeServer, model_name: str, recorded: list[Completion]) -> None:
    server = make_server()
    body = {"model": model_name, "messages": LONG, "max_tokens": 1500, "stream": True,
            "temperature": 0.8, "seed": 1}
    read = 0
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body,
                      timeout=60) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: {"):
                read += 1
            if read >= 5:
                break
    # leaving the block closed the connection mid-stream
    deadline = time.monotonic() + 20
    while not recorded and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recorded, "the generation did not stop after the client went away"
    gone = recorded[-1]
    assert gone.finish_reason == "cancelled"
    assert gone.stats.completion_tokens < read + 40  # stopped within a few tokens, not 1500
    # the engine is free: the next request is served at once
    quick = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=30)
    resp2 = quick.chat.completions.create(model=model_name, max_tokens=3,
                                          messages=[{"role": "user", "content": "hi"}])
    assert resp2.usage.completion_tokens == 3  # type: ignore[union-attr]


def test_window_chat_and_api_coexist(client: openai.OpenAI, model_name: str,
                                     engine: Engine) -> None:
    window_result: list[Completion] = []
    window = threading.Thread(target=lambda: window_result.append(engine.chat(
        [{"role": "user", "content": "Say something nice."}],
        SamplingParams(max_tokens=20, temperature=0))))
    window.start()
    api = client.chat.completions.create(model=model_name, max_tokens=20, temperature=0,
                                         messages=[{"role": "user", "content": "Say hello."}])
    window.join(60)
    assert window_result and window_result[0].finish_reason in ("stop", "length")
    assert api.choices[0].finish_reason in ("stop", "length")


def test_stopping_with_a_live_stream_does_not_hang(make_server: MakeServer,
                                                    model_name: str) -> None:
    server = make_server()
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=30)
    stream = client.chat.completions.create(model=model_name, messages=LONG, max_tokens=1500,
                                            stream=True)
    it = iter(stream)
    next(it)
    outcome: list[str] = []

    def drain() -> None:
        try:
            for _ in it:
                pass
            outcome.append("ended")
        except (openai.APIError, httpx.HTTPError) as exc:
            outcome.append(type(exc).__name__)

    reader = threading.Thread(target=drain)
    reader.start()
    start = time.monotonic()
    server.stop(timeout=20)
    assert not server.running
    assert time.monotonic() - start < 10
    reader.join(10)
    assert outcome, "the client's stream never ended"
