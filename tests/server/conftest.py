"""A real uvicorn server on 127.0.0.1 around the session's shared engine (no mocks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from fireside.core.inference.engine import Engine
from fireside.core.server.reqlog import RequestLogEntry
from fireside.core.server.runner import ServerRunner
from fireside.core.settings import ServerSettings

MakeServer = Callable[..., ServerRunner]


@pytest.fixture
def make_server(engine: Engine) -> Iterator[MakeServer]:
    """``make_server(source=engine, **ServerSettings fields)`` → a started runner (port 0)."""
    runners: list[ServerRunner] = []

    def make(source: Any = None, **fields: Any) -> ServerRunner:
        fields.setdefault("port", 0)
        runner = ServerRunner(source if source is not None else engine,
                              ServerSettings(**fields))
        runner.log: list[RequestLogEntry] = []  # type: ignore[attr-defined, misc]
        runner.add_log_listener(runner.log.append)  # type: ignore[attr-defined]
        runner.start()
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.stop()


@pytest.fixture
def server(make_server: MakeServer) -> ServerRunner:
    return make_server()


@pytest.fixture
def client(server: ServerRunner) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0,
                         timeout=120)


@pytest.fixture
def model_name(engine: Engine) -> str:
    assert engine.loaded is not None
    return engine.loaded.name
