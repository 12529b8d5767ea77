"""The transcript: one bubble per message, Markdown with highlighted code and copy buttons.

Streaming updates only the last bubble, and only the segments that changed, so the cost of a
flush does not grow with the length of the conversation.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayoutItem,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fireside.gui import markdown, theme

MAX_COLUMN = 880


def _label(html: str, name: str) -> QLabel:
    label = QLabel(html)
    label.setObjectName(name)
    label.setAccessibleName(name)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setOpenExternalLinks(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return label


def _discard(item: QLayoutItem | None) -> None:
    """Hide now, delete later: a widget waiting for deletion must not stay on screen."""
    widget = item.widget() if item is not None else None
    if widget is not None:
        widget.hide()
        widget.deleteLater()


def _flat_button(text: str, name: str, accessible: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setObjectName(name)
    button.setAccessibleName(accessible)
    button.setToolTip(accessible)
    button.setProperty("flat", "true")
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


class CodeBlock(QFrame):
    def __init__(self, seg: markdown.Segment) -> None:
        super().__init__()
        self.setObjectName("codeBlock")
        self.code = seg.code
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 8)
        layout.setSpacing(2)
        head = QHBoxLayout()
        self.lang = QLabel(seg.language or "code")
        self.lang.setObjectName("codeLang")
        self.copy = _flat_button("Copy", "copyCode", "Copy code")
        self.copy.clicked.connect(self._copy)
        head.addWidget(self.lang)
        head.addStretch(1)
        head.addWidget(self.copy)
        layout.addLayout(head)
        self.body = _label(seg.html, "codeText")
        layout.addWidget(self.body)

    def update_from(self, seg: markdown.Segment) -> None:
        self.code = seg.code
        if self.body.text() != seg.html:
            self.body.setText(seg.html)
        self.lang.setText(seg.language or "code")

    @Slot()
    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code)
        self.copy.setText("Copied")
        QTimer.singleShot(1500, lambda: self.copy.setText("Copy"))


class MessageBubble(QFrame):
    """One message. ``text`` is the raw Markdown; the widgets are a rendering of it."""

    edit_requested = Signal(int)  # position

    def __init__(self, role: str, text: str, position: int, speaker: str) -> None:
        super().__init__()
        self.role = role
        self.position = position
        self.text = ""
        self._segs: list[markdown.Segment] = []
        self.setProperty("bubble", "user" if role == "user" else "assistant")
        self.setObjectName(f"{role}Message")
        self.setAccessibleName(f"{'Your' if role == 'user' else 'Assistant'} message")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 8, 14, 10)
        outer.setSpacing(6)
        head = QHBoxLayout()
        self.speaker = QLabel(speaker)
        self.speaker.setProperty("role", "speaker")
        self.speaker.setObjectName("speaker")
        head.addWidget(self.speaker)
        head.addStretch(1)
        if role == "user":
            self.edit = _flat_button("Edit", "editMessage", "Edit message")
            self.edit.clicked.connect(lambda: self.edit_requested.emit(self.position))
            head.addWidget(self.edit)
        self.copy = _flat_button("Copy", "copyMessage", "Copy message")
        self.copy.clicked.connect(self._copy)
        head.addWidget(self.copy)
        outer.addLayout(head)
        self.body = QVBoxLayout()
        self.body.setSpacing(8)
        outer.addLayout(self.body)
        self.footer = QLabel("")
        self.footer.setObjectName("replyStats")
        self.footer.setProperty("role", "muted")
        self.footer.setVisible(False)
        outer.addWidget(self.footer)
        self.set_text(text)

    def set_text(self, text: str) -> None:
        """Re-render, touching only segments whose content changed."""
        if text == self.text and self._segs:
            return
        self.text = text
        style = theme.current().pygments_style
        segs = markdown.segments(text, style) if text else [
            markdown.Segment("prose", "<span style='opacity:0.6'>…</span>")]
        for i, seg in enumerate(segs):
            item = self.body.itemAt(i) if i < self.body.count() else None
            existing = item.widget() if item is not None else None
            if i < len(self._segs) and self._segs[i] == seg and existing is not None:
                continue
            if isinstance(existing, CodeBlock) and seg.kind == "code":
                existing.update_from(seg)
            elif isinstance(existing, QLabel) and seg.kind == "prose":
                existing.setText(seg.html)
            else:
                while self.body.count() > i:
                    _discard(self.body.takeAt(i))
                self.body.addWidget(CodeBlock(seg) if seg.kind == "code"
                                    else _label(seg.html, "messageText"))
        while self.body.count() > len(segs):
            _discard(self.body.takeAt(len(segs)))
        self._segs = segs

    def set_footer(self, text: str) -> None:
        self.footer.setText(text)
        self.footer.setVisible(bool(text))

    def set_editable(self, on: bool) -> None:
        edit = getattr(self, "edit", None)
        if edit is not None:
            edit.setEnabled(on)

    @Slot()
    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text)


class Note(QFrame):
    """A visible remark in the transcript (turns left out, a reply stopped)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.setProperty("bubble", "note")
        self.setObjectName("transcriptNote")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        label = QLabel(text)
        label.setWordWrap(True)
        label.setObjectName("noteText")
        label.setAccessibleName(text)
        layout.addWidget(label)
        self.text = text


class Transcript(QScrollArea):
    edit_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptScroll")
        self.setAccessibleName("Transcript")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("transcriptBody")
        row = QHBoxLayout(body)
        row.setContentsMargins(16, 16, 16, 16)
        column = QWidget()
        column.setMaximumWidth(MAX_COLUMN)
        self.column = QVBoxLayout(column)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(12)
        self.column.addStretch(1)
        row.addStretch(0)
        row.addWidget(column, 1)
        row.addStretch(0)
        self.setWidget(body)
        self.empty = QLabel("Start the conversation below.")
        self.empty.setObjectName("emptyTranscript")
        self.empty.setProperty("role", "muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.column.insertWidget(0, self.empty)
        self._stick = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range)
        bar.valueChanged.connect(self._on_scroll)

    # -- contents ------------------------------------------------------------------------
    def widgets(self) -> list[QWidget]:
        out = []
        for i in range(self.column.count()):
            item = self.column.itemAt(i)
            w = item.widget() if item is not None else None
            if w is not None and w is not self.empty:
                out.append(w)
        return out

    def bubbles(self) -> list[MessageBubble]:
        return [w for w in self.widgets() if isinstance(w, MessageBubble)]

    def clear(self) -> None:
        for w in self.widgets():
            self.column.removeWidget(w)
            w.hide()
            w.deleteLater()
        self.empty.setVisible(True)
        self._stick = True

    def add_message(self, role: str, text: str, position: int, speaker: str) -> MessageBubble:
        bubble = MessageBubble(role, text, position, speaker)
        bubble.edit_requested.connect(self.edit_requested)
        self._append(bubble)
        return bubble

    def add_note(self, text: str) -> Note:
        note = Note(text)
        self._append(note)
        return note

    def _append(self, widget: QWidget) -> None:
        self.empty.setVisible(False)
        self.column.insertWidget(self.column.count() - 1, widget)
        self._stick = True

    def remove_from(self, position: int) -> None:
        """Drop bubbles at ``position`` and after (and notes after them)."""
        cut = False
        for w in self.widgets():
            if isinstance(w, MessageBubble) and w.position >= position:
                cut = True
            if cut:
                self.column.removeWidget(w)
                w.hide()
                w.deleteLater()
        self.empty.setVisible(not self.widgets())

    # -- follow the newest text ----------------------------------------------------------
    @Slot(int)
    def _on_scroll(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick = value >= bar.maximum() - 24

    @Slot(int, int)
    def _on_range(self, _low: int, high: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(high)
