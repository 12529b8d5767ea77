"""The server panel's state line: a coloured dot and sentence, and a "Use port N" offer.

Running is green, Stopped and the moments between are muted, errors are in the error colour, a
warning (the port moved) amber (:mod:`fireside.gui.status_colors`).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from fireside.gui.status_colors import status_color

STATE_KINDS = {"running": "good", "error": "error", "warning": "warning"}  # else muted


def state_color(state: str) -> str:
    return status_color(STATE_KINDS.get(state, "muted"))


class StateLine(QWidget):
    offer_taken = Signal(int)  # the port offered

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serverState")
        self.state = "stopped"
        self._offered = 0
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.dot = QLabel("\u25cf")  # a filled circle: DejaVu and every UI font have it
        self.dot.setObjectName("serverStateDot")
        self.dot.setAccessibleName("Server state")
        self.status = QLabel("Stopped")
        self.status.setObjectName("serverStatus")
        self.status.setAccessibleName("Server status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.offer = QPushButton()
        self.offer.setObjectName("usePortOffer")
        self.offer.setAccessibleName("Use the free port")
        self.offer.setVisible(False)
        self.offer.clicked.connect(self._take)
        row.addWidget(self.dot, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.status, 1)
        row.addWidget(self.offer, 0, Qt.AlignmentFlag.AlignTop)
        self.show_state("stopped", "Stopped")

    def show_state(self, state: str, text: str) -> None:
        self.state = state
        self.status.setText(text)
        for label in (self.status, self.dot):
            label.setProperty("state", state)
        self._paint()
        if state in ("running", "busy"):
            self.offer.setVisible(False)

    def offer_port(self, port: int) -> None:
        self._offered = port
        self.offer.setText(f"Use port {port}")
        self.offer.setVisible(True)

    def withdraw_offer(self) -> None:
        self.offer.setVisible(False)

    @Slot()
    def _take(self) -> None:
        self.offer.setVisible(False)
        if self._offered:
            self.offer_taken.emit(self._offered)

    def _paint(self) -> None:
        color = state_color(self.state)
        weight = " font-weight: 600;" if self.state == "running" else ""
        self.status.setStyleSheet(f"color: {color};{weight}")
        self.dot.setStyleSheet(f"color: {color}; font-size: 16px;")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._paint()  # the theme changed: the colours follow
