"""Attaching images to the next message: files prepared on a worker, then shown as chips."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Slot

from fireside.gui import images
from fireside.gui.bridge import Bridge
from fireside.gui.views.chat_banners import Banners
from fireside.gui.views.chat_composer import Composer


class Attacher(QObject):
    def __init__(self, bridge: Bridge, composer: Composer, folder: Path, banners: Banners,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.composer = composer
        self.folder = folder
        self.banners = banners
        self._pending = 0  # batches being prepared: Send waits for all of them
        composer.attach_requested.connect(self.attach)

    @Slot(list)
    def attach(self, paths: list[Path]) -> None:
        """Decode, copy and thumbnail off the GUI thread (a 20 MiB photo takes a while)."""
        folder = self.folder
        self._pending += 1
        self.composer.send.setEnabled(False)  # until the images are ready to go with it
        self.bridge.submit(lambda: images.prepare_all(list(paths), folder), self._ready,
                           self._failed)

    def _ready(self, result: tuple[list[images.Attached], list[str]]) -> None:
        done, refused = result
        for item in done:
            self.composer.attachments.add(item.name, item.label, item.thumb)
        self._ended()
        if refused:
            self.banners.show_error("Not attached: " + "; ".join(refused))

    def _ended(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.composer.send.setEnabled(self.composer.stop.isHidden())

    def _failed(self, message: str) -> None:
        self._ended()
        self.banners.show_error(f"Not attached: {message}")
