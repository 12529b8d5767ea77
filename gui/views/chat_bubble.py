"""One message on screen: a bubble of Markdown segments with Copy (and Edit for your own).

A bubble is built from segments rendered elsewhere (a worker thread for history, the stream
renderer while a reply is written), so building one costs Qt's layout only. Streaming touches
the tail segments alone; the frozen ones keep their widgets.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fireside.core.inference import reasoning
from fireside.gui import markdown, theme
from fireside.gui.views.chat_thinking import ThinkingSection

MIN_LABEL_PX = 40
HFW_CACHE = 8
HINT_WIDTH = 480
WAITING = markdown.Segment("prose", "<span style='opacity:0.6'>…</span>")


class WrapLabel(QLabel):
    """A word-wrapped label whose minimum width never comes from its text: a long
    unbreakable line clips inside its bubble instead of widening the transcript."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(MIN_LABEL_PX, super().minimumSizeHint().height())


def rich_label(html: str, name: str) -> QLabel:
    label = WrapLabel(html)
    label.setObjectName(name)
    label.setAccessibleName(name)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setOpenExternalLinks(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    return label


def flat_button(text: str, name: str, accessible: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setObjectName(name)
    button.setAccessibleName(accessible)
    button.setToolTip(accessible)
    button.setAutoRaise(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def muted(label: QLabel) -> QLabel:
    """Secondary text in the theme's muted colour (palette, not a style sheet: see theme)."""
    pal = label.palette()
    pal.setColor(QPalette.ColorRole.WindowText, QColor(theme.current().muted))
    label.setPalette(pal)
    return label


def paint_card(widget: QWidget, fill: str, border: str, radius: float,
               pen_width: float = 1.0, dashed: bool = False) -> None:
    """A rounded card behind a transcript widget."""
    painter = QPainter(widget)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(border), pen_width)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.setBrush(QColor(fill))
    inset = pen_width / 2
    painter.drawRoundedRect(QRectF(widget.rect()).adjusted(inset, inset, -inset, -inset),
                            radius, radius)
    painter.end()


def discard(item: QLayoutItem | None) -> None:
    """Hide now, delete later: a widget waiting for deletion must not stay on screen."""
    widget = item.widget() if item is not None else None
    if widget is not None:
        widget.hide()
        widget.deleteLater()


class CodeBlock(QFrame):
    def __init__(self, seg: markdown.Segment) -> None:
        super().__init__()
        self.setObjectName("codeBlock")
        self.code = seg.code
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 8)
        layout.setSpacing(2)
        head = QHBoxLayout()
        self.lang = muted(QLabel(seg.language or "code"))
        self.lang.setObjectName("codeLang")
        small = self.lang.font()
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1.5))
        self.lang.setFont(small)
        self.copy = flat_button("Copy", "copyCode", "Copy code")
        self.copy.clicked.connect(self._copy)
        head.addWidget(self.lang)
        head.addStretch(1)
        head.addWidget(self.copy)
        layout.addLayout(head)
        self.body = rich_label(seg.html, "codeText")
        layout.addWidget(self.body)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        c = theme.current()
        paint_card(self, c.code_bg, c.border, 6)

    def update_from(self, seg: markdown.Segment) -> None:
        self.code = seg.code
        if self.body.text() != seg.html:
            self.body.setText(seg.html)
        self.lang.setText(seg.language or "code")

    @Slot()
    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code)
        self.copy.setText("Copied")
        QTimer.singleShot(1500, self._copied)

    @Slot()
    def _copied(self) -> None:
        self.copy.setText("Copy")


class SizedCard(QFrame):
    """A card whose contents sit in an inner widget, so the transcript's layout sees a widget
    without a layout and asks it only ``heightForWidth``, which is remembered per width.

    Otherwise Qt's box layout descends into every card on every change (its
    ``minimumHeightForWidth`` is not cached) and lays out each label's text again: about
    0.5 ms a message, on each flush of a streaming reply.
    """

    def __init__(self) -> None:
        super().__init__()
        self.inner = QWidget(self)
        self._hfw: dict[int, int] = {}

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        height = self._hfw.get(width)
        if height is None:
            if len(self._hfw) > HFW_CACHE:
                self._hfw.clear()
            height = self._hfw[width] = self.inner.heightForWidth(width)
        return height

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        # The column gives every card its full width, so only the height matters; asking the
        # inner layout for its own width hint would lay the text out once more per change.
        width = self.width() if self.width() > MIN_LABEL_PX else HINT_WIDTH
        return QSize(HINT_WIDTH, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(MIN_LABEL_PX, 0)  # heights come from heightForWidth

    def _resized(self) -> None:
        """The contents changed: forget the remembered sizes, tell the layout."""
        self._hfw.clear()
        self.updateGeometry()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        self.inner.setGeometry(self.rect())
        super().resizeEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # the inner widget's contents changed
            self._resized()
            self.inner.setGeometry(self.rect())
        elif event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._resized()
        return super().event(event)


class MessageBubble(SizedCard):
    """One message. ``text`` is the raw Markdown; the widgets are a rendering of it."""

    edit_requested = Signal(int)  # position

    def __init__(self, role: str, position: int, speaker: str) -> None:
        super().__init__()
        self.role = role
        self.position = position
        self.text = ""
        self._segs: list[markdown.Segment] = []
        self._stream: markdown.StreamRenderer | None = None
        self._dropped = False
        self._match = False
        self._thought_s: float | None = None
        self.setObjectName(f"{role}Message")
        self.setAccessibleName(f"{'Your' if role == 'user' else 'Assistant'} message")
        outer = QVBoxLayout(self.inner)
        # No minimum-size bookkeeping: with it, every relayout asks each label for its
        # minimum height at this width (uncached in Qt), laying out all its text again.
        outer.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        outer.setContentsMargins(14, 8, 14, 10)
        outer.setSpacing(6)
        head = QHBoxLayout()
        self.speaker = muted(WrapLabel(speaker))
        self.speaker.setObjectName("speaker")
        bold = self.speaker.font()
        bold.setBold(True)
        self.speaker.setFont(bold)
        head.addWidget(self.speaker, 1)
        self.dropped = muted(QLabel("left out of the context"))
        self.dropped.setObjectName("droppedMark")
        self.dropped.setVisible(False)
        head.addWidget(self.dropped)
        self.edit: QToolButton | None = None
        if role == "user":
            self.edit = flat_button("Edit", "editMessage", "Edit message")
            self.edit.clicked.connect(self._on_edit)
            head.addWidget(self.edit)
        self.copy = flat_button("Copy", "copyMessage", "Copy message")
        self.copy.clicked.connect(self._copy)
        head.addWidget(self.copy)
        outer.addLayout(head)
        self.body = QVBoxLayout()
        self.body.setSpacing(8)
        outer.addLayout(self.body)
        self.footer = muted(WrapLabel(""))
        self.footer.setObjectName("replyStats")
        self.footer.setWordWrap(True)
        self.footer.setVisible(False)
        outer.addWidget(self.footer)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        c = theme.current()
        fill = c.user_bubble if self.role == "user" else c.assistant_bubble
        if self._match:
            paint_card(self, fill, c.accent, 10, pen_width=2)
        else:
            paint_card(self, fill, c.muted if self._dropped else c.border, 10,
                       dashed=self._dropped)

    def apply_theme(self) -> None:
        """The scheme changed: secondary text takes the new muted colour."""
        for label in (self.speaker, self.dropped, self.footer):
            muted(label)
        self.update()

    # -- contents ------------------------------------------------------------------------
    def show_segments(self, text: str, segs: list[markdown.Segment], keep: int = 0) -> None:
        """Show ``segs`` (a rendering of ``text``); the first ``keep`` are already on screen."""
        self.text = text
        segs = segs or [WAITING]
        keep = min(keep, len(self._segs), self.body.count())
        for i in range(keep, len(segs)):
            seg = segs[i]
            item = self.body.itemAt(i) if i < self.body.count() else None
            existing = item.widget() if item is not None else None
            if i < len(self._segs) and self._segs[i] == seg and existing is not None:
                continue
            if isinstance(existing, CodeBlock) and seg.kind == "code":
                existing.update_from(seg)
            elif isinstance(existing, ThinkingSection) and seg.kind == "thinking":
                existing.update_from(seg)
            elif isinstance(existing, QLabel) and seg.kind == "prose":
                existing.setText(seg.html)
            else:
                while self.body.count() > i:
                    discard(self.body.takeAt(i))
                self.body.addWidget(self._segment_widget(seg))
        while self.body.count() > len(segs):
            discard(self.body.takeAt(len(segs)))
        self._segs = list(segs)
        self._resized()

    def _segment_widget(self, seg: markdown.Segment) -> QWidget:
        if seg.kind == "code":
            return CodeBlock(seg)
        if seg.kind == "thinking":
            section = ThinkingSection(seg)
            section.set_seconds(self._thought_s)
            return section
        return rich_label(seg.html, "messageText")

    def set_images(self, thumbs: list[Path]) -> None:
        """The attached images, as thumbnails above the text."""
        from fireside.gui.views.chat_attachments import BUBBLE_THUMB_PX, thumbnail

        row = QHBoxLayout()
        row.setSpacing(6)
        for i, thumb in enumerate(thumbs):
            label = thumbnail(thumb, BUBBLE_THUMB_PX)
            label.setObjectName("messageImage")
            label.setAccessibleName(f"Attached image {i + 1}")
            row.addWidget(label)
        row.addStretch(1)
        outer = self.inner.layout()
        assert isinstance(outer, QVBoxLayout)
        outer.insertLayout(1, row)  # under the speaker line, above the text

    def set_thought_seconds(self, seconds: float | None) -> None:
        """How long the model thought before answering ("Thought for 12 s")."""
        self._thought_s = seconds
        first = self.body.itemAt(0) if self.body.count() else None
        section = first.widget() if first is not None else None
        if isinstance(section, ThinkingSection):
            section.set_seconds(seconds)

    def set_text(self, text: str, style: str) -> None:
        """Render ``text`` whole (history, the end of a reply, a theme change)."""
        self._stream = None
        self.show_segments(text, markdown.segments(text, style) if text else [])

    def stream(self, text: str, style: str) -> None:
        """``text`` grew: re-render only the block being written."""
        if self._stream is None or self._stream.style != style:
            self._stream = markdown.StreamRenderer(style)
        frozen_before = len(self._stream.frozen)
        frozen, tail = self._stream.update(text)
        self.show_segments(text, frozen + tail, keep=frozen_before)

    def set_footer(self, text: str) -> None:
        self.footer.setText(text)
        self.footer.setToolTip(text)
        self.footer.setVisible(bool(text))
        self._resized()

    def set_dropped(self, on: bool) -> None:
        """Mark a turn the model no longer sees (left out to fit the context)."""
        self.dropped.setVisible(on)
        self._dropped = on
        self._resized()
        self.update()

    def set_editable(self, on: bool) -> None:
        if self.edit is not None:
            self.edit.setEnabled(on)

    def set_match(self, on: bool) -> None:
        """Outline the bubble that holds the current find result."""
        self._match = on
        self.update()

    @Slot()
    def _on_edit(self) -> None:
        self.edit_requested.emit(self.position)

    @Slot()
    def _copy(self) -> None:
        """The answer; a reasoning model's thinking stays out of what is pasted."""
        QGuiApplication.clipboard().setText(reasoning.answer_only(self.text))


class Note(SizedCard):
    """A visible remark in the transcript (turns left out, a reply stopped)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.setObjectName("transcriptNote")
        layout = QHBoxLayout(self.inner)
        layout.setContentsMargins(12, 6, 12, 6)
        self.label = WrapLabel(text)
        self.label.setWordWrap(True)
        self.label.setObjectName("noteText")
        self.label.setAccessibleName(text)
        layout.addWidget(self.label)
        self.text = text

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        c = theme.current()
        paint_card(self, c.warn_bg, c.warn_bg, 8)
