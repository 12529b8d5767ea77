"""`model` names a local model: loaded just in time, unloaded after the idle TTL."""

from __future__ import annotations

import time
from pathlib import Path

import openai
import pytest

from fireside.core import context
from fireside.core.models import starter

from .conftest import MakeServer


@pytest.fixture
def fresh_ctx(app_ctx: context.AppContext, installed_starter: Path) -> context.AppContext:
    """A library with the starter installed and an engine with nothing loaded."""
    yield app_ctx
    app_ctx.engine.unload()


def test_named_model_is_loaded_just_in_time_and_unloaded_when_idle(
        make_server: MakeServer, fresh_ctx: context.AppContext) -> None:
    server = make_server(source=fresh_ctx, idle_unload_s=1)
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=120)
    assert fresh_ctx.engine.loaded is None
    listed = [m.id for m in client.models.list().data]
    assert starter.NAME in listed
    resp = client.chat.completions.create(model=starter.NAME, max_tokens=3,
                                          messages=[{"role": "user", "content": "hi"}])
    assert resp.model == starter.NAME
    assert fresh_ctx.engine.loaded is not None and fresh_ctx.engine.loaded.name == starter.NAME
    deadline = time.monotonic() + 15
    while fresh_ctx.engine.loaded is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fresh_ctx.engine.loaded is None, "the idle model was not unloaded"


def test_a_model_loaded_by_the_person_is_never_unloaded_by_the_ttl(
        make_server: MakeServer, fresh_ctx: context.AppContext, installed_starter: Path
) -> None:
    fresh_ctx.engine.load(installed_starter, name="mine")
    server = make_server(source=fresh_ctx, idle_unload_s=1)
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    client.chat.completions.create(model="mine", max_tokens=2,
                                   messages=[{"role": "user", "content": "hi"}])
    time.sleep(2.5)
    assert fresh_ctx.engine.loaded is not None and fresh_ctx.engine.loaded.name == "mine"


def test_jit_off_answers_404_for_a_model_not_loaded(
        make_server: MakeServer, fresh_ctx: context.AppContext) -> None:
    server = make_server(source=fresh_ctx, jit_load=False)
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=starter.NAME,
                                       messages=[{"role": "user", "content": "hi"}])
    assert fresh_ctx.engine.loaded is None
