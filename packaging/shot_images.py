"""Screenshots of images in the chat: a photo sent to a vision model, and two more attached to
the next message, at 1280x800 and 800x560 in light and dark (run under Xvfb, as xshots.sh does).

The vision model is the tests' synthetic one (a LLaVA projector and a tiny text model with
random weights: its answer is noise); the photo is llama.cpp's own test image from the pinned
sdist. What the pictures show is the window's part: chips, thumbnails, the stored turn.

    QT_QPA_PLATFORM=xcb .venv/bin/python packaging/shot_images.py --out docs/screenshots
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
log = logging.getLogger("fireside.shots")
SIZES = {"": (1280, 800), "-800x560": (800, 560)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ["FIRESIDE_HOME"] = tempfile.mkdtemp(prefix="fireside-shots-images-")

    from core.test_vision import BLUE, png
    from hardware.vision import write_vision_pair
    from peer.llama_server_suite import media_dir
    from PySide6.QtCore import QEventLoop  # noqa: TID251 - a GUI script

    from fireside.core import context
    from fireside.core.inference.types import SamplingParams
    from fireside.gui.app import create_window, ensure_app

    ctx = context.build()
    write_vision_pair(ctx.paths.models / "tiny-vision")
    photo = media_dir() / "mtmd" / "test-1.jpeg"
    work = Path(tempfile.mkdtemp())
    (work / "sky.png").write_bytes(BLUE)
    (work / "sunset.png").write_bytes(png(48, 32, (240, 120, 40)))
    app = ensure_app(["fireside"])

    def pump(until: object, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not until():  # type: ignore[operator]
            if time.monotonic() > end:
                raise TimeoutError("the window did not get there in time")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    win = create_window(ctx)
    win.show()
    win.resize(*SIZES[""])
    chat = win.chat
    pump(lambda: chat.settings.model.findData("tiny-vision") >= 0)
    chat.settings.model.activated.emit(chat.settings.model.findData("tiny-vision"))
    chat.settings.set_sampling(SamplingParams(temperature=0.0, seed=1, max_tokens=24), "")
    composer = chat.composer
    composer.attach_requested.emit([photo])
    pump(lambda: len(composer.attachments.names()) == 1)
    chat.send("What is in this photo?")
    pump(lambda: chat.reply is None, 120)
    composer.attach_requested.emit([work / "sky.png", work / "sunset.png"])
    pump(lambda: len(composer.attachments.names()) == 2)
    composer.input.setPlainText("And these two: which is warmer?")
    for scheme in ("light", "dark"):
        chooser = win.settings_page.theme
        chooser.setCurrentIndex(chooser.findData(scheme))
        for suffix, (width, height) in SIZES.items():
            win.resize(width, height)
            pump(lambda w=width, h=height: (win.width(), win.height()) == (w, h))
            bar = chat.transcript.verticalScrollBar()
            bar.setValue(bar.maximum())
            pump(lambda: True)
            path = args.out / f"chat-images{suffix}-{scheme}.png"
            win.grab().save(str(path))
            log.info("%s", path)
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
