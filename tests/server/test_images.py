"""Images over the API, as the OpenAI, Anthropic and Responses clients send them, to a vision
model (synthetic text model + LLaVA projector) and to the text-only starter model."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from core.test_vision import BLUE, RED
from hardware.vision import IMAGE_TOKENS, write_vision_pair

from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings
from fireside.core.server.runner import ServerRunner

from .conftest import MakeServer

DATA_URL = "data:image/png;base64," + base64.b64encode(RED).decode()


def _user(*parts: dict[str, object]) -> list[dict[str, object]]:
    return [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, *parts]}]


def _image(url: str) -> dict[str, object]:
    return {"type": "image_url", "image_url": {"url": url}}


@pytest.fixture(scope="module")
def seer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    model, _ = write_vision_pair(tmp_path_factory.mktemp("vision-server"))
    eng = Engine()
    eng.load(model, LoadSettings(n_ctx=1024, parallel=2), name="tiny-vision")
    yield eng
    eng.unload()


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    (folder / "pics").mkdir(parents=True)
    (folder / "pics" / "red.png").write_bytes(RED)
    (tmp_path / "secret.png").write_bytes(BLUE)
    (folder / "pics" / "link.png").symlink_to(tmp_path / "secret.png")
    return folder


@pytest.fixture
def vision_server(seer: Engine, make_server: MakeServer, media_dir: Path) -> ServerRunner:
    return make_server(seer, media_path=str(media_dir))


def _chat(runner: ServerRunner, messages: list[dict[str, object]],
          model: str = "tiny-vision") -> httpx.Response:
    return httpx.post(runner.base_url + "/chat/completions", timeout=60,
                      json={"model": model, "max_tokens": 2, "messages": messages})


def test_openai_client_sends_a_data_url(vision_server: ServerRunner) -> None:
    client = openai.OpenAI(base_url=vision_server.base_url, api_key="x", max_retries=0)
    reply = client.chat.completions.create(model="tiny-vision", max_tokens=3,
                                           messages=_user(_image(DATA_URL)))  # type: ignore[arg-type]
    assert reply.choices[0].message.content is not None
    assert reply.usage is not None and reply.usage.prompt_tokens > IMAGE_TOKENS
    props = httpx.get(vision_server.base_url.removesuffix("/v1") + "/props").json()
    assert props["modalities"]["vision"] is True


@pytest.mark.parametrize(("url", "status", "says"), [
    ("file://pics/red.png", 200, ""),
    ("file:////pics//red.png", 200, ""),  # the same file, as llama-server reads it
    ("file://pics/missing.png", 400, "no such image"),
    ("file://../secret.png", 400, "not allowed"),
    ("file://pics/../../secret.png", 400, "not allowed"),
    ("file://pics/link.png", 400, "no such image"),  # a link out of the folder
    ("https://example.com/cat.png", 400, "not fetched"),
    ("data:text/plain;base64,aGk=", 400, "data URL"),
    ("data:image/png;base64,!!!", 400, "base64"),
    ("data:image/png;base64," + base64.b64encode(b"garbage").decode(), 400, "not a JPEG"),
    ("data:image/png;base64," + base64.b64encode(RED[:40]).decode(), 400, "decoded"),
])
def test_image_urls(vision_server: ServerRunner, url: str, status: int, says: str) -> None:
    r = _chat(vision_server, _user(_image(url)))
    assert r.status_code == status, r.text
    if says:
        assert says in r.json()["error"]["message"]


def test_local_files_need_a_media_folder(seer: Engine, make_server: MakeServer) -> None:
    r = _chat(make_server(seer), _user(_image("file://pics/red.png")))
    assert r.status_code == 400 and "--media-path" in r.json()["error"]["message"]


def test_images_only_in_user_and_tool_messages(vision_server: ServerRunner) -> None:
    r = _chat(vision_server, [{"role": "system", "content": [_image(DATA_URL)]},
                              {"role": "user", "content": "Hi"}])
    assert r.status_code == 400 and "user and tool" in r.json()["error"]["message"]


def test_anthropic_image_blocks(vision_server: ServerRunner) -> None:
    client = anthropic.Anthropic(base_url=vision_server.base_url.removesuffix("/v1"),
                                 api_key="x", max_retries=0)
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": base64.b64encode(BLUE).decode()}}
    reply = client.messages.create(model="tiny-vision", max_tokens=3, messages=[
        {"role": "user", "content": [block, {"type": "text", "text": "What is this?"}]}])
    assert reply.type == "message" and reply.usage.input_tokens > IMAGE_TOKENS
    # an image inside a tool result (a coding agent reading a screenshot)
    reply = client.messages.create(model="tiny-vision", max_tokens=3, messages=[
        {"role": "user", "content": "What is in test.png?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read",
                                           "input": {"file": "test.png"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": [{"type": "text", "text": "File: test.png"},
                                                  block]}]}])
    assert reply.usage.input_tokens > IMAGE_TOKENS


def test_responses_input_image(vision_server: ServerRunner) -> None:
    r = httpx.post(vision_server.base_url + "/responses", timeout=60, json={
        "model": "tiny-vision", "max_output_tokens": 3, "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": DATA_URL}]}]})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["input_tokens"] > IMAGE_TOKENS


def test_a_text_model_says_it_cannot_see(server: ServerRunner, model_name: str) -> None:
    r = _chat(server, _user(_image(DATA_URL)), model_name)
    assert r.status_code == 400
    assert "image input is not supported" in r.json()["error"]["message"]
    props = httpx.get(server.base_url.removesuffix("/v1") + "/props").json()
    assert props["modalities"]["vision"] is False


def test_more_than_16_images_are_refused_before_any_is_read(vision_server: ServerRunner
                                                            ) -> None:
    r = _chat(vision_server, _user(*[_image("file://pics/red.png")] * 17))
    assert r.status_code == 400 and "at most 16 images" in r.json()["error"]["message"]
