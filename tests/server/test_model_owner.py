"""One owner of "which model": the server never swaps out the model a person is chatting with
(unless allowed), idle unload goes by identity, and answers name the model that wrote them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from fireside.core import context
from fireside.core.models import starter

from .conftest import MakeServer


@pytest.fixture
def two_models(app_ctx: context.AppContext, installed_starter: Path,
               tmp_path: Path) -> Iterator[context.AppContext]:
    """The starter and a second library model (the same bytes, hard-linked as second.gguf)."""
    second = tmp_path / "second.gguf"
    os.link(installed_starter, second)
    assert app_ctx.library.import_file(second, link=True).name == "second"
    yield app_ctx
    app_ctx.engine.unload()


def _ask(client: openai.OpenAI, model: str) -> str:
    return client.chat.completions.create(
        model=model, max_tokens=2, messages=[{"role": "user", "content": "hi"}]).model


def test_the_server_does_not_swap_out_the_chats_model(make_server: MakeServer,
                                                      two_models: context.AppContext) -> None:
    ctx = two_models
    chat_model = ctx.library.get(starter.NAME)
    ctx.engine.load(chat_model.path, name=starter.NAME, by="chat")
    client = openai.OpenAI(base_url=make_server(source=ctx).base_url, api_key="x",
                           max_retries=0, timeout=120)
    with pytest.raises(openai.APIStatusError) as refused:
        _ask(client, "second")
    assert refused.value.status_code == 409
    assert "model_in_use" in str(refused.value.body)
    loaded = ctx.engine.loaded
    assert loaded is not None and loaded.name == starter.NAME  # the chat keeps its model
    assert _ask(client, starter.NAME) == starter.NAME  # the chat's own model still serves


def test_allowed_the_server_swaps_and_says_who_loaded(make_server: MakeServer,
                                                      two_models: context.AppContext) -> None:
    ctx = two_models
    ctx.engine.load(ctx.library.get(starter.NAME).path, name=starter.NAME, by="chat")
    server = make_server(source=ctx, jit_replaces_chat_model=True)
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=120)
    assert _ask(client, "second") == "second"
    loaded = ctx.engine.loaded
    assert loaded is not None and loaded.name == "second" and loaded.loaded_by == "server"


def test_idle_unload_spares_a_same_named_model_loaded_since(
        make_server: MakeServer, two_models: context.AppContext) -> None:
    ctx = two_models
    server = make_server(source=ctx, idle_unload_s=1)
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=120)
    _ask(client, "second")  # the server's own load
    ctx.engine.load(ctx.library.get("second").path, name="second", by="chat")  # then mine
    time.sleep(2.5)
    loaded = ctx.engine.loaded
    assert loaded is not None and loaded.loaded_by == "chat"  # before: unloaded by name
