"""The transcript: the conversation's messages, a window of them built at a time.

A conversation of thousands of messages opens at once: the transcript knows every entry but
builds widgets for a window of at most ``MAX_BUILT`` of them, starting from the newest, a few
per turn of the event loop so the GUI thread never stalls. Scrolling near the top builds older
ones and lets go of the newest when the window is full (and the other way round), keeping what
the person reads where it is. Qt's box layout re-lays every widget it holds on each change
(about 0.5 ms a message on 2 cores), which is why the window is bounded rather than growing.
Markdown is rendered off the GUI thread by the ``render`` collaborator. Find (Ctrl+F) searches
every entry and moves the window to the match.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from fireside.gui import markdown
from fireside.gui.views.chat_bubble import MessageBubble, Note
from fireside.gui.views.chat_empty import EmptyChat

MAX_COLUMN = 880
PAGE = 12  # entries rendered per request
MAX_BUILT = 30  # widgets alive at once (a full-HD viewport shows about eight)
SLICE_MS = 5.0  # widget building per event-loop turn (the layout pass after costs more)
NEAR_PX = 600  # this close to the built content's edge, build more


@dataclass(eq=False)
class Entry:
    """What the transcript shows for one message or note."""

    role: str  # "user", "assistant" or "note"
    text: str
    position: int = -1
    speaker: str = ""
    footer: str = ""
    thought_s: float | None = None  # a reasoning model's thinking time
    dropped: bool = False
    images: list[Path] = field(default_factory=list)  # thumbnails of attached images
    segs: list[markdown.Segment] | None = None
    widget: QWidget | None = field(default=None, repr=False)


Render = Callable[[list[str], str, Callable[[list[list[markdown.Segment]]], None]], None]


def prerender(entries: list[Entry], style: str) -> list[Entry]:
    """Render the newest page (on a worker thread) so a conversation opens fully drawn."""
    for entry in entries[-PAGE:]:
        if entry.segs is None and entry.role != "note":
            entry.segs = markdown.segments(entry.text, style)
    return entries


def render_now(texts: list[str], style: str,
               done: Callable[[list[list[markdown.Segment]]], None]) -> None:
    """The synchronous renderer (tests, tiny transcripts)."""
    done([markdown.segments(t, style) for t in texts])


class Transcript(QScrollArea):
    edit_requested = Signal(int)

    def __init__(self, style: Callable[[], str], render: Render = render_now,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptScroll")
        self.setAccessibleName("Transcript")
        self._style = style
        self._render = render
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("transcriptBody")
        body.setAutoFillBackground(True)  # the palette's Window colour: no style sheet here
        row = QHBoxLayout(body)
        self._row = row
        row.setContentsMargins(16, 16, 16, 16)
        self._col_widget = QWidget()
        self._col_widget.setMaximumWidth(MAX_COLUMN)
        self.column = QVBoxLayout(self._col_widget)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(12)
        self.column.addStretch(1)
        row.addStretch(0)
        row.addWidget(self._col_widget, 1)
        row.addStretch(0)
        self.setWidget(body)
        self._body = body
        self.empty = EmptyChat()  # example prompts; ChatView sends the one clicked
        self.column.insertWidget(0, self.empty)

        self.entries: list[Entry] = []
        self._lo = self._hi = 0  # entries[_lo:_hi] have widgets
        self._generation = 0  # bumps on every rebuild: late renders of an old window drop
        self._rendering = False
        self._build: list[tuple[int, Entry, bool]] = []  # (index, entry, at_top), in order
        self._then: list[Callable[[], None]] = []
        self._pump = QTimer(self)
        self._pump.setSingleShot(True)
        self._pump.setInterval(0)
        self._pump.timeout.connect(self._build_some)
        self._stick = True
        self._anchor: tuple[QWidget, int] | None = None
        self._target: QWidget | None = None  # a find result to keep in view
        self._quiet = False  # scrolling that we do, not the person
        self._release = QTimer(self)
        self._release.setSingleShot(True)
        self._release.setInterval(100)
        self._release.timeout.connect(self._release_anchor)
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range)
        bar.valueChanged.connect(self._on_scroll)

    # -- what is on screen ---------------------------------------------------------------
    def widgets(self) -> list[QWidget]:
        return [e.widget for e in self.entries[self._lo:self._hi] if e.widget is not None]

    def bubbles(self) -> list[MessageBubble]:
        return [w for w in self.widgets() if isinstance(w, MessageBubble)]

    @property
    def unbuilt(self) -> int:
        """Entries with no widget (older or newer than the window)."""
        return len(self.entries) - (self._hi - self._lo)

    @property
    def building(self) -> bool:
        """A page is being rendered or built."""
        return self._rendering or bool(self._build)

    @property
    def at_end(self) -> bool:
        return self._hi == len(self.entries)

    def entry_for(self, position: int) -> Entry | None:
        return next((e for e in reversed(self.entries)
                     if e.role != "note" and e.position == position), None)

    def bubble_for(self, position: int) -> MessageBubble | None:
        entry = self.entry_for(position)
        widget = entry.widget if entry is not None else None
        return widget if isinstance(widget, MessageBubble) else None

    # -- filling -------------------------------------------------------------------------
    def _drop_widgets(self) -> None:
        for entry in self.entries[self._lo:self._hi]:
            self._unmake(entry)
        self._generation += 1
        self._build = []
        self._pump.stop()  # its next slice would find nothing to build and run _then early
        self._then = []
        self._rendering = False
        self._anchor = None

    def clear(self) -> None:
        self._drop_widgets()
        self.entries = []
        self._lo = self._hi = 0
        self.empty.setVisible(True)
        self._stick = True

    def set_entries(self, entries: list[Entry]) -> None:
        """Show a conversation: the newest entries now, older ones when scrolled to."""
        self.clear()
        self.entries = list(entries)
        self._lo = self._hi = len(self.entries)
        self.empty.setVisible(not self.entries)
        self._older()

    def append(self, entry: Entry) -> Entry:
        """A new message at the end; the window jumps back to the end to show it."""
        if not self.at_end:
            self._rebuild_at(len(self.entries))
        self.entries.append(entry)
        self._make(entry, at_top=False)
        self._hi = len(self.entries)
        self._stick = True
        self.empty.setVisible(False)
        self._trim(keep_bottom=True)
        return entry

    def add_message(self, role: str, text: str, position: int, speaker: str,
                    images: list[Path] | None = None) -> MessageBubble:
        entry = self.append(Entry(role, text, position, speaker, images=images or [],
                                  segs=markdown.segments(text, self._style()) if text else []))
        assert isinstance(entry.widget, MessageBubble)
        return entry.widget

    def add_note(self, text: str) -> Note:
        entry = self.append(Entry("note", text))
        assert isinstance(entry.widget, Note)
        return entry.widget

    def remove_from(self, position: int) -> None:
        """Drop messages at ``position`` and after (and the notes after them)."""
        cut = next((i for i, e in enumerate(self.entries)
                    if e.role != "note" and e.position >= position), len(self.entries))
        for entry in self.entries[cut:]:
            self._unmake(entry)
        del self.entries[cut:]
        self._hi = min(self._hi, cut)
        self._lo = min(self._lo, self._hi)
        self._build = [b for b in self._build if b[0] < cut]
        self.empty.setVisible(not self.entries)

    def _rebuild_at(self, index: int) -> None:
        """Let go of the window and start a new one ending at ``index`` (exclusive)."""
        self._drop_widgets()
        self._lo = self._hi = index

    # -- building ------------------------------------------------------------------------
    def _older(self) -> None:
        if self._lo > 0:
            self._request(max(0, self._lo - PAGE), self._lo, at_top=True)

    def _newer(self) -> None:
        if self._hi < len(self.entries):
            self._request(self._hi, min(len(self.entries), self._hi + PAGE), at_top=False)

    def _request(self, start: int, end: int, *, at_top: bool) -> None:
        """Render entries[start:end] off the GUI thread, then build them in slices."""
        if self._rendering or self._build:
            return
        page = [(i, self.entries[i]) for i in range(start, end)
                if self.entries[i].widget is None]
        todo = [e for _i, e in page if e.segs is None and e.role != "note"]
        generation = self._generation
        self._rendering = True

        def rendered(result: list[list[markdown.Segment]]) -> None:
            if generation != self._generation:
                return
            for entry, segs in zip(todo, result, strict=True):
                entry.segs = segs
            self._rendering = False
            ordered = list(reversed(page)) if at_top else page
            self._build.extend((i, e, at_top) for i, e in ordered)
            self._build_some()  # the first slice now; the pump does the rest

        if todo:
            self._render([e.text for e in todo], self._style(), rendered)
        else:
            rendered([])

    @Slot()
    def _build_some(self) -> None:
        started = time.perf_counter()
        top = any(at_top for _i, _e, at_top in self._build)
        if top and not self._stick:
            self._set_anchor()
        while self._build and (time.perf_counter() - started) * 1000 < SLICE_MS:
            index, entry, at_top = self._build.pop(0)
            if index >= len(self.entries) or self.entries[index] is not entry \
                    or entry.widget is not None:
                continue
            if at_top and index == self._lo - 1:
                self._make(entry, at_top=True)
                self._lo = index
            elif not at_top and index == self._hi:
                self._make(entry, at_top=False)
                self._hi = index + 1
        self._trim(keep_bottom=not top)
        if top and not self._stick:
            self._restore_anchor()
        if self._build:
            self._pump.start()
            return
        if self._rendering:  # a page still renders off-thread: its callbacks wait for it
            return
        then, self._then = self._then, []
        for fn in then:
            fn()
        self._fill()

    def _fill(self) -> None:
        """Build more while the built content does not reach past the viewport."""
        if not self.isVisible() or self._rendering or self._build:
            return
        bar = self.verticalScrollBar()
        if self._lo > 0 and (bar.maximum() == 0 or bar.value() < NEAR_PX):
            self._older()
        elif self._hi < len(self.entries) and bar.value() > bar.maximum() - NEAR_PX:
            self._newer()

    def _trim(self, *, keep_bottom: bool) -> None:
        """Keep at most MAX_BUILT widgets, letting go of the end away from the reader."""
        while self._hi - self._lo > MAX_BUILT:
            if keep_bottom:
                self._unmake(self.entries[self._lo])
                self._lo += 1
            else:
                self._unmake(self.entries[self._hi - 1])
                self._hi -= 1

    def _make(self, entry: Entry, *, at_top: bool) -> None:
        widget: QWidget
        if entry.role == "note":
            widget = Note(entry.text)
        else:
            bubble = MessageBubble(entry.role, entry.position, entry.speaker)
            bubble.edit_requested.connect(self.edit_requested)
            segs = entry.segs if entry.segs is not None else (
                markdown.segments(entry.text, self._style()) if entry.text else [])
            bubble.show_segments(entry.text, segs)
            if entry.footer:
                bubble.set_footer(entry.footer)
            if entry.thought_s is not None:
                bubble.set_thought_seconds(entry.thought_s)
            if entry.dropped:
                bubble.set_dropped(True)
            if entry.images:
                bubble.set_images(entry.images)
            widget = bubble
        entry.widget = widget
        # Lay the text out now, inside the caller's time slice, not in one later pass.
        width = self._col_widget.width()
        if width > 0 and widget.hasHeightForWidth():
            widget.heightForWidth(width)
        if at_top:
            self.column.insertWidget(1, widget)  # after the (hidden) empty label
        else:
            self.column.insertWidget(self.column.count() - 1, widget)

    def _unmake(self, entry: Entry) -> None:
        widget, entry.widget = entry.widget, None
        if widget is not None:
            self.column.removeWidget(widget)
            widget.hide()
            widget.deleteLater()

    def show_entry(self, index: int, then: Callable[[], None]) -> None:
        """Move the window to ``index`` (a find result) and call ``then`` once it is built."""
        if self._lo <= index < self._hi:
            then()
            return
        self._rebuild_at(min(len(self.entries), index + PAGE // 2))
        self._stick = False
        self._then.append(then)
        self._request(max(0, index - PAGE // 2), self._hi, at_top=True)

    def reveal(self, entry: Entry) -> None:
        """Scroll to ``entry``; again as the layout settles (the range grows after this)."""
        if entry.widget is not None:
            self._stick = False
            self._anchor = None
            self._target = entry.widget
            self._release.start(400)
            self._row.activate()
            self._apply_target()

    def _apply_target(self) -> None:
        target = self._target
        if target is None or target.parentWidget() is None:
            self._target = None
            return
        self._quiet = True
        try:
            self.ensureWidgetVisible(target, 0, 40)
        finally:
            self._quiet = False

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        QTimer.singleShot(0, self._fill)

    # -- follow the newest text; keep still what the person reads ------------------------
    def _set_anchor(self) -> None:
        """Remember the first widget in view and its offset, before the content above moves."""
        if self._target is not None:
            return  # a find result is being brought into view: it is the anchor
        top = self.verticalScrollBar().value()
        for w in self.widgets():
            y = w.mapTo(self._body, QPoint(0, 0)).y()
            if y + w.height() >= top:
                self._anchor = (w, y - top)
                return

    def _restore_anchor(self) -> None:
        if self._anchor is None:
            return
        self.column.activate()
        self._row.activate()
        self._release.start()
        self._apply_anchor()

    def _apply_anchor(self) -> None:
        if self._anchor is None:
            return
        widget, offset = self._anchor
        if widget.parentWidget() is None:
            self._anchor = None
            return
        y = widget.mapTo(self._body, QPoint(0, 0)).y()
        bar = self.verticalScrollBar()
        bar.blockSignals(True)
        bar.setValue(y - offset)
        bar.blockSignals(False)

    @Slot()
    def _release_anchor(self) -> None:
        self._anchor = None
        self._target = None

    @Slot(int)
    def _on_scroll(self, value: int) -> None:
        if self._quiet:
            return
        bar = self.verticalScrollBar()
        self._stick = value >= bar.maximum() - 24 and self.at_end
        self._anchor = None
        self._target = None
        self._fill()

    @Slot(int, int)
    def _on_range(self, _low: int, high: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(high)
        elif self._target is not None:
            self._apply_target()
        else:
            self._apply_anchor()
