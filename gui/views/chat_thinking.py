"""A reasoning model's thinking inside its reply: one line, "Thought for 12 s", that opens.

Qwen3 and the DeepSeek-R1 distills think aloud for hundreds of words before they answer; shown
as prose it buries the answer (LM Studio and Jan fold it the same way). While the model is
still thinking the line says so and counts the words; the text is there for whoever opens it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QToolButton, QVBoxLayout, QWidget

from fireside.gui import markdown


class ThinkingSection(QWidget):
    """The thinking of one reply, collapsed by default."""

    def __init__(self, seg: markdown.Segment) -> None:
        super().__init__()
        self.setObjectName("thinking")
        self.seconds: float | None = None
        self.seg = seg
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.toggle = QToolButton()
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.toggled.connect(self._on_toggled)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        # imported here: chat_bubble imports this module for its segment widgets
        from fireside.gui.views.chat_bubble import muted, rich_label

        self.body = muted(rich_label(seg.html, "thinkingText"))
        self.body.setVisible(False)
        layout.addWidget(self.body)
        self.update_from(seg)

    @property
    def open(self) -> bool:
        return self.toggle.isChecked()

    @property
    def still_thinking(self) -> bool:
        return self.seg.language == "open"

    def update_from(self, seg: markdown.Segment) -> None:
        self.seg = seg
        if self.body.isVisible() and self.body.text() != seg.html:
            self.body.setText(seg.html)
        self._title()

    def set_seconds(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._title()

    def _title(self) -> None:
        arrow = "▾" if self.open else "▸"
        if self.still_thinking:
            words = len(self.seg.code.split())
            title = f"Thinking… ({words:,} word{'s' if words != 1 else ''})"
        elif self.seconds is not None:
            title = f"Thought for {_duration(self.seconds)}"
        else:
            title = "Thoughts"
        self.toggle.setText(f"{arrow} {title}")
        action = "Hide" if self.open else "Show"
        self.toggle.setAccessibleName(f"{action} the model's thinking")
        self.toggle.setToolTip(f"{action} what the model wrote before its answer")

    @Slot(bool)
    def _on_toggled(self, on: bool) -> None:
        if on and self.body.text() != self.seg.html:
            self.body.setText(self.seg.html)  # rendered only when someone looks
        self.body.setVisible(on)
        self._title()


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "less than a second"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
