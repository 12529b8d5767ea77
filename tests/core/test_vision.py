"""Images through the engine: a vision model (a synthetic text model and a LLaVA projector
beside it, random weights) read by llama.cpp's mtmd library on the batch. No mocks: the
images are real JPEG/PNG files, decoded, encoded and decoded into the KV cache."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardware.vision import IMAGE_TOKENS, write_vision_pair

from fireside.core.inference import media
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import ChatRequest, LoadSettings, SamplingParams

# a 1x1 red PNG (the image llama.cpp's Anthropic tests send) and a 2x2 one of other colours
RED = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAF"
                       "BQIAX8jx0gAAAABJRU5ErkJggg==")


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-colour PNG, written by hand (zlib + crc32): no imaging library needed."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
    out.write(chunk(b"IDAT", zlib.compress(rows)))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()


BLUE = png(2, 2, (0, 0, 255))


def ask(image: bytes, text: str = "What is in this image?") -> list[dict[str, object]]:
    return [{"role": "user", "content": [{"type": "text", "text": text},
                                         {"type": "image", "data": image}]}]


@pytest.fixture(scope="module")
def vision_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_vision_pair(tmp_path_factory.mktemp("vision"))


@pytest.fixture(scope="module")
def vision(vision_files: tuple[Path, Path]) -> Iterator[Engine]:
    eng = Engine()
    eng.load(vision_files[0], LoadSettings(n_ctx=1024, parallel=2))
    yield eng
    eng.unload()


def test_the_projector_beside_the_model_is_loaded(vision: Engine,
                                                  vision_files: tuple[Path, Path]) -> None:
    assert vision.loaded is not None
    assert vision.loaded.projector == vision_files[1]
    assert media.find_projector(vision_files[0]) == vision_files[1]


def test_an_image_is_read_and_its_prefix_reused(vision: Engine) -> None:
    params = SamplingParams(max_tokens=4, seed=7, temperature=0.0)
    first = vision.submit(ChatRequest(ask(RED), params)).result()
    assert first.finish_reason in ("length", "stop")
    # the prompt holds the image's tokens: more than the text alone
    text_only = vision.tokenize(vision.render_chat([{"role": "user",
                                                     "content": "What is in this image?"}]))
    assert first.stats.prompt_tokens >= len(text_only) + IMAGE_TOKENS
    again = vision.submit(ChatRequest(ask(RED), params)).result()
    assert again.stats.prefill_tokens <= 1  # the same image: the cached prefix is kept
    assert again.text == first.text
    other = vision.submit(ChatRequest(ask(BLUE), params)).result()
    # another image ends the shared prefix where it starts: it is read again
    assert other.stats.prefill_tokens >= IMAGE_TOKENS


def test_image_and_text_requests_share_the_batch(vision: Engine) -> None:
    params = SamplingParams(max_tokens=24, seed=1, stop=[])
    handles = [vision.submit(ChatRequest(ask(BLUE, "Describe it."), params)),
               vision.submit(ChatRequest([{"role": "user", "content": "Hello"}], params)),
               vision.submit(ChatRequest(ask(RED, "And this?"), params))]
    results = [h.result(timeout=120) for h in handles]
    assert all(r.stats.completion_tokens > 0 for r in results)


def test_bad_images_are_refused_clearly(vision: Engine) -> None:
    with pytest.raises(media.ImageInputError, match="not a JPEG, PNG, GIF or BMP"):
        vision.submit(ChatRequest(ask(b"not an image at all"))).result()
    with pytest.raises(media.ImageInputError, match="could not be decoded"):
        vision.submit(ChatRequest(ask(RED[:40]))).result()  # a PNG cut short
    # the engine is unharmed
    ok = vision.submit(ChatRequest(ask(RED), SamplingParams(max_tokens=2))).result()
    assert ok.stats.completion_tokens >= 1


def test_a_text_model_refuses_images(engine: Engine) -> None:
    with pytest.raises(media.ImageInputError, match="image input is not supported"):
        engine.submit(ChatRequest(ask(RED))).result()


def test_projector_off_and_a_broken_projector_leave_text(vision_files: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    eng = Engine()
    try:
        loaded = eng.load(vision_files[0], LoadSettings(n_ctx=256, parallel=1,
                                                        projector="off"))
        assert loaded.projector is None and loaded.projector_error == ""
        broken = tmp_path / "mmproj-broken.gguf"
        broken.write_bytes(b"GGUF" + b"\0" * 64)
        loaded = eng.load(vision_files[0], LoadSettings(n_ctx=256, parallel=1,
                                                        projector=str(broken)))
        assert loaded.projector is None and "could not load the projector" in \
            loaded.projector_error
        text = eng.submit(ChatRequest([{"role": "user", "content": "Hi"}],
                                      SamplingParams(max_tokens=2))).result()
        assert text.stats.completion_tokens >= 1
        with pytest.raises(media.ImageInputError, match="could not load the projector"):
            eng.submit(ChatRequest(ask(RED))).result()
    finally:
        eng.unload()


def test_a_tiling_projector_reads_an_image_in_several_chunks(tmp_path: Path) -> None:
    """LLaVA-1.6-style grids (MiniCPM-V, Idefics3 and others slice too): one image is an
    overview and tiles, several mtmd chunks sharing one placeholder id."""
    model, _ = write_vision_pair(tmp_path, tiles=True)
    eng = Engine()
    try:
        eng.load(model, LoadSettings(n_ctx=2048, parallel=1))
        wide = png(64, 48, (10, 200, 30))
        params = SamplingParams(max_tokens=2, seed=3, temperature=0.0)
        first = eng.submit(ChatRequest(ask(wide), params)).result()
        assert first.stats.prompt_tokens >= 3 * IMAGE_TOKENS  # more than the overview alone
        again = eng.submit(ChatRequest(ask(wide), params)).result()
        assert again.stats.prefill_tokens <= 1 and again.text == first.text
        with pytest.raises(media.ImageInputError, match="not a JPEG, PNG, GIF or BMP"):
            eng.submit(ChatRequest(ask(b"RIFF\0\0\0\0WAVEfmt "))).result()
    finally:
        eng.unload()


def test_a_request_cancelled_in_the_queue_lets_its_images_go(
        vision_files: tuple[Path, Path]) -> None:
    """Prepared while it waited (its images tokenized), then cancelled: its mtmd chunks are
    freed when the queue reaches it, not kept for the life of the process."""
    eng = Engine()
    try:
        eng.load(vision_files[0], LoadSettings(n_ctx=4096, parallel=1))
        running = eng.submit(ChatRequest([{"role": "user", "content": "Count."}],
                                          SamplingParams(max_tokens=3000, stop=[])))
        queued = eng.submit(ChatRequest(ask(RED), SamplingParams(max_tokens=4)))
        seq = queued._seq
        deadline = time.monotonic() + 30
        while seq.media is None and time.monotonic() < deadline:
            time.sleep(0.001)
        assert seq.media is not None  # its images were read while it waited
        queued.cancel()
        running.result(timeout=120)
        deadline = time.monotonic() + 10
        while seq.media is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seq.media is None
    finally:
        eng.unload()


def test_projector_names_are_matched_to_the_model(tmp_path: Path) -> None:
    for name in ("gemma-3-4b-it-Q4_K_M.gguf", "mmproj-model-f16.gguf",
                 "mmproj-gemma-3-4b-it-f16.gguf", "qwen-Q8_0.gguf"):
        (tmp_path / name).write_bytes(b"")
    assert media.find_projector(tmp_path / "gemma-3-4b-it-Q4_K_M.gguf") == \
        tmp_path / "mmproj-gemma-3-4b-it-f16.gguf"
    assert media.is_projector(tmp_path / "MMPROJ-x.GGUF")
    assert not media.is_projector(tmp_path / "qwen-Q8_0.gguf")
    assert media.find_projector(tmp_path / "nowhere" / "model.gguf") is None
