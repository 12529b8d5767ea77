"""Find in the open conversation (Ctrl+F): every message counts, shown or not yet built."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from fireside.gui.views.chat_bubble import MessageBubble
from fireside.gui.views.chat_transcript import Transcript


def matches(texts: list[str], query: str) -> list[int]:
    """Indices of the texts that contain ``query`` (case-insensitive), oldest first."""
    needle = query.casefold()
    return [i for i, t in enumerate(texts) if needle and needle in t.casefold()]


class FindBar(QWidget):
    closed = Signal()

    def __init__(self, transcript: Transcript, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findBar")
        self.setAccessibleName("Find in conversation")
        self._transcript = transcript
        self._hits: list[int] = []
        self._at = -1
        self._shown: MessageBubble | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 6, 16, 0)
        self.query = QLineEdit()
        self.query.setObjectName("findInput")
        self.query.setAccessibleName("Find text")
        self.query.setPlaceholderText("Find in this conversation")
        self.query.setClearButtonEnabled(True)
        self.query.textChanged.connect(self._on_text)
        self.query.returnPressed.connect(self.previous)
        row.addWidget(self.query, 1)
        self.count = QLabel("")
        self.count.setObjectName("findCount")
        self.count.setAccessibleName("Find results")
        self.count.setProperty("role", "muted")
        row.addWidget(self.count)
        for text, name, accessible, slot in (
                ("↑", "findPrevious", "Previous match", self.previous),
                ("↓", "findNext", "Next match", self.next),
                ("✕", "findClose", "Close find", self.close_bar)):
            button = QToolButton()
            button.setText(text)
            button.setObjectName(name)
            button.setAccessibleName(accessible)
            button.setToolTip(accessible)
            button.clicked.connect(slot)
            row.addWidget(button)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.query)
        esc.setContext(Qt.ShortcutContext.WidgetShortcut)
        esc.activated.connect(self.close_bar)
        self.setVisible(False)

    def open(self) -> None:
        self.setVisible(True)
        self.query.setFocus()
        self.query.selectAll()
        self._on_text(self.query.text())

    @Slot()
    def close_bar(self) -> None:
        self._mark(None)
        self.setVisible(False)
        self.closed.emit()

    @Slot(str)
    def _on_text(self, text: str) -> None:
        self._hits = matches([e.text for e in self._transcript.entries], text)
        self._at = len(self._hits)  # Enter goes to the newest match first
        self._mark(None)
        self._update_count()
        if self._hits:
            self.previous()

    @Slot()
    def previous(self) -> None:
        self._go(-1)

    @Slot()
    def next(self) -> None:
        self._go(1)

    def _go(self, step: int) -> None:
        if not self._hits:
            return
        self._at = (self._at + step) % len(self._hits)
        index = self._hits[self._at]
        self._update_count()
        self._transcript.show_entry(index, lambda: self._show(index))

    def _show(self, index: int) -> None:
        entries = self._transcript.entries
        if index >= len(entries):
            return
        entry = entries[index]
        self._transcript.reveal(entry)
        self._mark(entry.widget if isinstance(entry.widget, MessageBubble) else None)

    def _mark(self, bubble: MessageBubble | None) -> None:
        if self._shown is not None and self._shown is not bubble:
            try:
                self._shown.set_match(False)
            except RuntimeError:  # deleted with its conversation
                pass
        self._shown = bubble
        if bubble is not None:
            bubble.set_match(True)

    def _update_count(self) -> None:
        if not self.query.text():
            self.count.setText("")
        elif not self._hits:
            self.count.setText("no matches")
        else:
            self.count.setText(f"{self._at + 1} of {len(self._hits)}")

    @property
    def hits(self) -> list[int]:
        return list(self._hits)
