"""Images in a prompt: llama.cpp's mtmd library turns them into embeddings the model reads.

A vision model is two files: the language model and its projector (``mmproj``), a CLIP-style
encoder that maps an image into the language model's embedding space. The prompt text carries a
marker where each image goes; ``mtmd_tokenize`` splits it into text chunks (token ids, read by
the batch like any prompt) and image chunks (encoded and decoded by mtmd into the request's
sequence). The marker is random per process, so no text a person types can be taken for one.

In the token list the batch keeps per slot, an image's positions hold placeholder ids derived
from a hash of the image bytes (negative, so never a real token): the same image at the same
place lets a follow-up turn reuse the cached prefix, a different one ends the shared prefix
there, as llama-server does with its image hashes.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from fireside.core.errors import FiresideError, RequestError

log = logging.getLogger("fireside.inference")
MAX_IMAGES = 16  # images in one request: each costs an encode and hundreds of cells
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # one image's file (OpenAI's per-image limit)
# what llama.cpp's image reader is given: the formats it decodes, told by their first bytes
_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"GIF8", "image/gif"),
          (b"BM", "image/bmp"))


class ImageInputError(RequestError):
    """An image cannot be read here: no projector loaded, a bad file, a bad position."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "messages")


@dataclass
class ImageSpan:
    """One image's placeholder tokens ``[start, end)`` in the prompt and its mtmd chunk."""

    start: int
    end: int
    chunk: Any  # an owned mtmd_input_chunk copy, freed with the prompt


@dataclass
class MediaPrompt:
    """A tokenized prompt with images: ids (placeholders at image spans) and the spans."""

    tokens: list[int]
    spans: list[ImageSpan] = field(default_factory=list)

    def span_at(self, pos: int) -> ImageSpan | None:
        """The image whose span starts at ``pos``."""
        return next((s for s in self.spans if s.start == pos), None)

    def text_end(self, pos: int, limit: int) -> int:
        """How far text may be read from ``pos`` (not past ``limit``): up to the next image."""
        return min([limit, *(s.start for s in self.spans if s.start >= pos)])

    def whole(self, keep: int) -> int:
        """``keep`` moved back to the start of an image it would cut in two."""
        for span in self.spans:
            if span.start < keep < span.end:
                return span.start
        return keep

    def close(self) -> None:
        from llama_cpp import mtmd_cpp

        for span in self.spans:
            if span.chunk is not None:
                mtmd_cpp.mtmd_input_chunk_free(span.chunk)
                span.chunk = None


def placeholder(image_id: bytes | None) -> int:
    """The id an image's positions hold in a slot's token list: negative, from the image's
    sha256 (hex, set as its mtmd id), the same for every chunk (tile) of one image; an image
    without an id gets one that matches nothing."""
    if not image_id:
        return -1 - secrets.randbelow(1 << 30)
    return -1 - int(image_id[:8], 16) % (1 << 30)


class Projector:
    """A loaded ``mmproj`` bound to the loaded text model; used on the engine thread only."""

    def __init__(self, path: Path, model: Any, *, n_threads: int, use_gpu: bool) -> None:
        from llama_cpp import mtmd_cpp

        from fireside.core import llama_log

        llama_log.route_mtmd()
        self.path = path
        self.marker = f"<__fireside_image_{secrets.token_hex(6)}__>"
        self._marker_bytes = self.marker.encode()  # kept alive: mtmd keeps the pointer
        params = mtmd_cpp.mtmd_context_params_default()
        params.use_gpu = use_gpu
        params.print_timings = False
        params.n_threads = n_threads
        params.media_marker = self._marker_bytes
        params.warmup = False
        self.ctx = mtmd_cpp.mtmd_init_from_file(str(path).encode(), model, params)
        if not self.ctx:
            raise FiresideError(f"llama.cpp could not load the projector {path.name} for this "
                                "model (wrong projector for the model, or not a projector)")
        if not mtmd_cpp.mtmd_support_vision(self.ctx):
            self.close()
            raise FiresideError(f"{path.name} has no vision encoder")
        self.mrope = bool(mtmd_cpp.mtmd_decode_use_mrope(self.ctx))

    def close(self) -> None:
        from llama_cpp import mtmd_cpp

        if self.ctx:
            mtmd_cpp.mtmd_free(self.ctx)
            self.ctx = None

    def tokenize(self, text: str, images: list[bytes], *, add_special: bool) -> MediaPrompt:
        """``text`` holds one marker per image, in order: the ids and image spans."""
        from llama_cpp import mtmd_cpp

        if self.mrope:
            raise ImageInputError(
                "image input is not supported for this model yet: its projector places image "
                "tokens in 2-D (M-RoPE, the Qwen-VL family)")
        if len(images) > MAX_IMAGES:
            raise ImageInputError(f"at most {MAX_IMAGES} images per request")
        if text.count(self.marker) != len(images):
            raise ImageInputError("each image must have its place in the prompt")
        bitmaps = []
        try:
            for i, data in enumerate(images):
                if not data.startswith(tuple(magic for magic, _mime in _MAGIC)):
                    # mtmd's helper would also try the bytes as audio or, with ffmpeg, video
                    raise ImageInputError(f"image {i + 1} is not a JPEG, PNG, GIF or BMP image")
                buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
                bitmap = mtmd_cpp.mtmd_helper_bitmap_init_from_buf(self.ctx, buf, len(data),
                                                                   False)
                if not bitmap:
                    raise ImageInputError(f"image {i + 1} could not be decoded (JPEG, PNG, GIF "
                                          "and BMP are read)")
                mtmd_cpp.mtmd_bitmap_set_id(bitmap, hashlib.sha256(data).hexdigest().encode())
                bitmaps.append(bitmap)
            return self._chunks(text, bitmaps, add_special)
        finally:
            for bitmap in bitmaps:
                mtmd_cpp.mtmd_bitmap_free(bitmap)

    def _chunks(self, text: str, bitmaps: list[Any], add_special: bool) -> MediaPrompt:
        """Text chunks as token ids; each image chunk (a tiling projector makes several per
        image: an overview and its tiles) as a span of its image's placeholder id."""
        from llama_cpp import mtmd_cpp

        data = text.encode("utf-8")
        inp = mtmd_cpp.mtmd_input_text(data, len(data), add_special, True)
        array = (mtmd_cpp.mtmd_bitmap_p_ctypes * max(1, len(bitmaps)))(*bitmaps)
        chunks = mtmd_cpp.mtmd_input_chunks_init()
        try:
            rc = mtmd_cpp.mtmd_tokenize(self.ctx, chunks, ctypes.byref(inp), array, len(bitmaps))
            if rc != 0:
                raise ImageInputError(f"the images could not be prepared (mtmd status {rc})")
            prompt = MediaPrompt([])
            try:
                for c in range(mtmd_cpp.mtmd_input_chunks_size(chunks)):
                    chunk = mtmd_cpp.mtmd_input_chunks_get(chunks, c)
                    kind = mtmd_cpp.mtmd_input_chunk_get_type(chunk)
                    if kind == mtmd_cpp.MTMD_INPUT_CHUNK_TYPE_TEXT:
                        n = ctypes.c_size_t(0)
                        ids = mtmd_cpp.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                        prompt.tokens.extend(ids[k] for k in range(n.value))
                        continue
                    if kind != mtmd_cpp.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                        raise ImageInputError("only images are read here (not audio)")
                    n_tokens = int(mtmd_cpp.mtmd_input_chunk_get_n_tokens(chunk))
                    start = len(prompt.tokens)
                    prompt.tokens.extend(
                        [placeholder(mtmd_cpp.mtmd_input_chunk_get_id(chunk))] * n_tokens)
                    prompt.spans.append(ImageSpan(start, start + n_tokens,
                                                  mtmd_cpp.mtmd_input_chunk_copy(chunk)))
            except BaseException:
                prompt.close()
                raise
            return prompt
        finally:
            mtmd_cpp.mtmd_input_chunks_free(chunks)

    def decode(self, lctx: Any, span: ImageSpan, seq_id: int, n_batch: int) -> None:
        """Encode the image and decode its embeddings into ``seq_id`` at ``span.start``."""
        from llama_cpp import llama_cpp as C
        from llama_cpp import mtmd_cpp

        new_n_past = C.llama_pos(0)
        rc = mtmd_cpp.mtmd_helper_eval_chunk_single(
            self.ctx, lctx, span.chunk, span.start, seq_id, n_batch, False,
            ctypes.byref(new_n_past))
        if rc != 0:
            raise FiresideError(f"llama.cpp failed to read an image (status {rc})")


def tokenize(projector: Projector | None, why_none: str, prompt: str,
             images: list[dict[str, Any]], add_bos: bool) -> MediaPrompt:
    """A prompt with images, tokenized by the loaded model's projector (engine thread);
    ``why_none``: why the model has none, when a projector beside it failed to load."""
    if projector is None:
        why = f" ({why_none})" if why_none else ""
        raise ImageInputError("image input is not supported by the loaded model: it has no "
                              f"vision projector (an mmproj file beside it){why}")
    found = projector.tokenize(prompt, [image_bytes(p) for p in images], add_special=add_bos)
    if found.spans and found.spans[-1].end == len(found.tokens):
        found.close()
        raise ImageInputError("an image cannot end the prompt")
    return found


def is_projector(path: PurePath) -> bool:
    """A vision projector (``mmproj*.gguf``): it belongs to the model beside it, it is not
    a model of its own (LM Studio hides it the same way)."""
    return path.name.lower().startswith("mmproj") and path.suffix.lower() == ".gguf"


def find_projector(model: Path) -> Path | None:
    """The projector beside ``model``: an ``mmproj*.gguf`` in its folder (where LM Studio and
    llama.cpp's ``-hf`` downloads put it), the one whose name shares most with the model's."""
    try:
        candidates = [p for p in model.parent.iterdir()
                      if is_projector(p) and p != model and p.is_file()]
    except OSError:
        return None
    if not candidates:
        return None
    stem = model.stem.lower()

    def shared(p: Path) -> int:
        name = p.stem.lower().removeprefix("mmproj").lstrip("-_.")
        return next((i for i, (a, b) in enumerate(zip(name, stem, strict=False)) if a != b),
                    min(len(name), len(stem)))
    return max(sorted(candidates), key=shared)


DEFAULT_MARKER = "<__media__>"  # where a model without a projector shows an image (llama-server's)


def image_bytes(part: dict[str, Any]) -> bytes:
    """An image part's bytes: given (an API request's), or read from ``path`` (the window's
    attachments, read here on the engine thread rather than on the GUI thread)."""
    if "data" in part:
        return bytes(part["data"])
    path = Path(part.get("path", ""))
    try:  # the last component is not followed: a file swapped for a link is refused
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ImageInputError(f"the image {path.name} could not be read: "
                              f"{exc.strerror or exc}") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageInputError(f"the image {path.name} is over {MAX_IMAGE_BYTES >> 20} MiB")
    return data


def as_openai(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages with image parts as OpenAI sends them (a remote provider's API): each image
    an inline ``image_url`` data URL, text as ``text`` parts."""
    out = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            out.append(message)
            continue
        parts: list[dict[str, Any]] = []
        for part in content:
            if part.get("type") != "image":
                parts.append({"type": "text", "text": str(part.get("text", ""))})
                continue
            data = image_bytes(part)
            mime = next((m for magic, m in _MAGIC if data.startswith(magic)), "image/png")
            url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        out.append({**message, "content": parts})
    return out


def flatten(messages: list[dict[str, Any]], marker: str
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Messages whose content is a list of parts, as strings (``marker`` where each image
    goes, which every chat template renders), and the image parts in prompt order (their
    bytes are read only when a prompt is tokenized: :func:`image_bytes`)."""
    images: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            parts = []
            for part in content:
                if part.get("type") == "image":
                    images.append(part)
                    parts.append(marker)
                else:
                    parts.append(str(part.get("text", "")))
            out.append({**message, "content": "".join(parts)})
        else:
            out.append(message)
    return out, images


def load_projector(model_path: Path, setting: str, model: Any, *, n_threads: int,
                   use_gpu: bool) -> tuple[Projector | None, str]:
    """The projector ``setting`` names ("" looks beside the model, "off" none), bound to the
    loaded ``model``; one that fails leaves the model loaded for text, with the reason."""
    if setting == "off":
        return None, ""
    found = Path(setting) if setting else find_projector(model_path)
    if found is None:
        return None, ""
    try:
        projector = Projector(found, model, n_threads=n_threads, use_gpu=use_gpu)
    except FiresideError as exc:
        log.warning("%s: text only: %s", model_path.name, exc)
        return None, str(exc)
    log.info("%s reads images through %s", model_path.name, found.name)
    return projector, ""
