"""Images attached to chat messages: copies kept beside the conversation store.

A conversation must still show and resend its images after the originals were moved or
deleted, so an attached file is copied into ``attachments/`` next to the database, named by a
hash of its bytes (the same picture attached twice is stored once), with a small thumbnail the
transcript shows without decoding the full image on the GUI thread. Files no message names any
more go when deleted conversations are purged.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from fireside.core.atomic import write_atomic
from fireside.core.errors import FiresideError
from fireside.core.inference.media import MAX_IMAGE_BYTES

log = logging.getLogger("fireside.attachments")
# What llama.cpp's image reader (stb_image) decodes as it is; other formats are converted to
# PNG by the window before they are kept.
NATIVE = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif"})
THUMB_SUFFIX = ".thumb.png"
_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpe?g|bmp|gif)$")


def folder_for(store_path: Path) -> Path:
    return store_path.parent / "attachments"


def save(folder: Path, data: bytes, suffix: str) -> str:
    """Keep ``data`` (an image of a NATIVE type) in ``folder``; its name."""
    suffix = suffix.lower()
    if suffix not in NATIVE:
        raise FiresideError(f"{suffix or 'this'} images are not kept as they are: convert to PNG")
    if len(data) > MAX_IMAGE_BYTES:
        raise FiresideError(f"the image is {len(data) >> 20} MiB; at most "
                            f"{MAX_IMAGE_BYTES >> 20} MiB can be attached")
    name = hashlib.sha256(data).hexdigest()[:32] + suffix
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data, mode=0o644)
    return name


def path_of(folder: Path, name: str) -> Path:
    """The kept file ``name`` (a name this module made: nothing else is read)."""
    if not _NAME.match(name):
        raise FiresideError(f"not an attachment name: {name!r}")
    return folder / name


def thumb_of(folder: Path, name: str) -> Path:
    return path_of(folder, name).with_suffix(THUMB_SUFFIX)


def prune(folder: Path, keep: set[str]) -> int:
    """Delete kept images (and thumbnails) no message names; how many went."""
    if not folder.is_dir():
        return 0
    kept = {name.split(".", 1)[0] for name in keep}
    gone = 0
    for path in folder.iterdir():
        stem = path.name.split(".", 1)[0]
        if stem in kept or not re.fullmatch(r"[0-9a-f]{32}", stem):
            continue
        try:
            path.unlink()
            gone += 1
        except OSError as exc:
            log.warning("could not delete attachment %s: %s", path.name, exc)
    return gone
