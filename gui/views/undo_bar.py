"""A bar that says what was just done and offers Undo for a few seconds (Gmail's "Undo send").

The action itself waits: the owner does the irreversible part only on :attr:`UndoBar.expired`
(or when the app quits), so Undo never has to bring a deleted file back.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from fireside.gui import theme

UNDO_MS = 8000


class UndoBar(QFrame):
    undone = Signal()
    expired = Signal()

    def __init__(self, name: str, parent: QWidget | None = None,
                 timeout_ms: int = UNDO_MS) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName("Undo")
        self.setProperty("role", "toast")
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 6, 6)
        self.label = QLabel()
        self.label.setObjectName(name + "Text")
        self.label.setAccessibleName("Done")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        self.undo = QPushButton("Undo")
        self.undo.setObjectName(name + "Undo")
        self.undo.setAccessibleName("Undo")
        self.undo.clicked.connect(self._on_undo)
        row.addWidget(self.undo)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(timeout_ms)
        self._timer.timeout.connect(self._on_expired)
        self.setVisible(False)
        self._paint()

    def _paint(self) -> None:
        c = theme.current()
        sheet = (f"QFrame#{self.objectName()} {{ background: {c.base}; "
                 f"border: 1px solid {c.border}; border-radius: 8px; }}")
        if sheet != self.styleSheet():  # setting it changes the palette: no loop
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the theme changed
            self._paint()

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def offer(self, text: str) -> None:
        """Show ``text`` with Undo; the countdown starts again."""
        self.label.setText(text)
        self.setVisible(True)
        self._timer.start()

    def finish_now(self) -> None:
        """End the countdown at once, as if it ran out (the app is quitting, a new action)."""
        if self._timer.isActive():
            self._on_expired()

    @Slot()
    def _on_undo(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.setVisible(False)
            self.undone.emit()

    @Slot()
    def _on_expired(self) -> None:
        self._timer.stop()
        self.setVisible(False)
        self.expired.emit()
