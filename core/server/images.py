"""Images in API requests: where their bytes come from, checked before a request is queued
(a ``file://`` image is then read by the engine, off the event loop).

Accepted as Ollama and LM Studio accept them: inline, as a ``data:image/…;base64,`` URL (or
bare base64, as llama-server takes it). ``file://`` paths are read only under the folder the
server was started with (``--media-path``, llama-server's option), never outside it. Web URLs
are refused with a clear message rather than fetched: a local server that fetches whatever a
request names can be made to reach into the network it sits in.
"""

from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path
from typing import Any

from fireside.core.inference.media import MAX_IMAGE_BYTES
from fireside.core.server.params import ApiError, bad

log = logging.getLogger("fireside.server")


def image_part(url: Any, param: str, media_path: str) -> dict[str, Any]:
    """The engine's image part for an OpenAI ``image_url`` (a string or ``{"url": …}``)."""
    if isinstance(url, dict):
        url = url.get("url")
    if not isinstance(url, str) or not url:
        raise bad(param, "an image part needs an 'image_url' with a 'url'")
    if url.startswith(("http://", "https://")):
        raise bad(param, "image URLs are not fetched by the local server: send the image "
                  "inline as a data URL (data:image/png;base64,…)")
    if url.startswith("file://"):  # checked here, read by the engine (not on the event loop)
        return {"type": "image", "path": str(_local(url.removeprefix("file://"), param,
                                                      media_path))}
    return {"type": "image", "data": _inline(url, param)}


def _inline(url: str, param: str) -> bytes:
    """The bytes of a data URL or of bare base64."""
    if url.startswith("data:"):
        head, sep, payload = url.partition(",")
        if not sep or not head.startswith("data:image/") or not head.endswith(";base64"):
            raise bad(param, "a data URL must be 'data:image/<type>;base64,<data>'")
        url = payload
    return _base64(url, param)


def _base64(text: str, param: str) -> bytes:
    if len(text) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise ApiError(413, f"an image may be at most {MAX_IMAGE_BYTES >> 20} MiB",
                       param=param)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise bad(param, "the image is not valid base64") from None
    if not data:
        raise bad(param, "the image is empty")
    return data


def _local(name: str, param: str, media_path: str) -> Path:
    """A file under ``media_path``: no '..', no way out through a link."""
    if not media_path:
        raise bad(param, "file:// image URLs are not allowed: the server was started without "
                  "a media folder (--media-path)")
    parts = [p for p in name.replace("\\", "/").split("/") if p]
    if not parts or any(p in (".", "..") for p in parts) or ":" in parts[0]:
        raise bad(param, f"image path not allowed: {name}")
    root = Path(media_path).resolve()
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise bad(param, f"no such image under the media folder: {name}")
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise ApiError(413, f"an image may be at most {MAX_IMAGE_BYTES >> 20} MiB",
                       param=param)
    return path
