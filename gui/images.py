"""Preparing images a person attaches to a message, on a worker thread.

Each file is decoded once here (QImage works off the GUI thread; QPixmap does not): a file that
is not an image, or is too large, is refused with a sentence; a format llama.cpp's reader does
not take (WebP, TIFF…) is converted to PNG; the kept copy and a small thumbnail go into the
store's attachments folder (:mod:`fireside.core.attachments`), so the transcript draws the
thumbnail without decoding the full picture on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QImage, QImageWriter

from fireside.core import attachments
from fireside.core.errors import FiresideError
from fireside.core.inference.media import MAX_IMAGE_BYTES

THUMB_PX = 160  # the longer side of a thumbnail (shown at up to 120 px, sharp on HiDPI)


@dataclass(frozen=True)
class Attached:
    name: str  # the kept copy's name in the attachments folder
    label: str  # the file name the person chose
    thumb: Path


def _png(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    QImageWriter(buf, QByteArray(b"png")).write(image)
    return bytes(data.data())


def prepare(path: Path, folder: Path) -> Attached:
    """Keep ``path`` (an image) in ``folder`` with its thumbnail; FiresideError if it is not
    an image this app can read."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FiresideError(f"{path.name}: {exc.strerror or exc}") from None
    if size > MAX_IMAGE_BYTES:
        raise FiresideError(f"{path.name} is {size >> 20} MiB; images up to "
                            f"{MAX_IMAGE_BYTES >> 20} MiB can be attached")
    data = path.read_bytes()
    image = QImage.fromData(data)
    if image.isNull():
        raise FiresideError(f"{path.name} is not an image Fireside can read")
    suffix = path.suffix.lower()
    if suffix not in attachments.NATIVE:  # llama.cpp reads PNG, JPEG, BMP, GIF as they are
        data, suffix = _png(image), ".png"
    name = attachments.save(folder, data, suffix)
    thumb = attachments.thumb_of(folder, name)
    if not thumb.exists():
        small = image.scaled(THUMB_PX, THUMB_PX, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        small.save(str(thumb))  # PNG, by its name
    return Attached(name, path.name, thumb)


def prepare_all(paths: list[Path], folder: Path) -> tuple[list[Attached], list[str]]:
    """Each path prepared; the ones refused as sentences (the others still attach)."""
    done: list[Attached] = []
    refused: list[str] = []
    for path in paths:
        try:
            done.append(prepare(path, folder))
        except FiresideError as exc:
            refused.append(str(exc))
    return done, refused
