"""The images waiting to go with the next message: a row of chips above the message box."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from fireside.gui import icons

CHIP_THUMB_PX = 40
BUBBLE_THUMB_PX = 120


def thumbnail(path: Path, px: int) -> QLabel:
    """A small picture from a thumbnail file (a few KiB: cheap on the GUI thread)."""
    label = QLabel()
    pixmap = QPixmap(str(path))
    if not pixmap.isNull():
        label.setPixmap(pixmap.scaled(px, px, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation))
    label.setFixedHeight(px)
    return label


class Chip(QFrame):
    removed = Signal(str)

    def __init__(self, name: str, label: str, thumb: Path) -> None:
        super().__init__()
        self.name = name
        self.setObjectName("attachmentChip")
        self.setAccessibleName(f"Attached image {label}")
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.setSpacing(6)
        row.addWidget(thumbnail(thumb, CHIP_THUMB_PX))
        text = QLabel(label if len(label) <= 24 else label[:21] + "…")
        text.setToolTip(label)
        row.addWidget(text)
        remove = QToolButton()
        remove.setObjectName("removeAttachment")
        remove.setAccessibleName(f"Remove {label}")
        remove.setToolTip("Remove this image")
        remove.setAutoRaise(True)
        icons.put(remove, "remove")
        remove.clicked.connect(lambda: self.removed.emit(self.name))
        row.addWidget(remove)


class AttachmentStrip(QWidget):
    """Shows what is attached; says nothing about how it got there."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentStrip")
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        self._row.addStretch(1)
        self._chips: list[Chip] = []
        self.setVisible(False)

    def add(self, name: str, label: str, thumb: Path) -> None:
        if name in self.names():
            return
        chip = Chip(name, label, thumb)
        chip.removed.connect(self.remove)
        self._chips.append(chip)
        self._row.insertWidget(self._row.count() - 1, chip)
        self.setVisible(True)
        self.changed.emit()

    def remove(self, name: str) -> None:
        for chip in [c for c in self._chips if c.name == name]:
            self._chips.remove(chip)
            chip.setParent(None)
            chip.deleteLater()
        self.setVisible(bool(self._chips))
        self.changed.emit()

    def names(self) -> list[str]:
        return [c.name for c in self._chips]

    def clear(self) -> None:
        for name in self.names():
            self.remove(name)
