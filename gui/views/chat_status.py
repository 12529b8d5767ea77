"""The line under the transcript: what the reply is doing, its figures, the context meter.

The text is elided to one line (the whole of it in the tooltip), so a long "… · 954 oldest
messages left out to fit · stopped" can never widen the chat column.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QSizePolicy, QWidget
from superqt import QElidingLabel

from fireside.gui.views.chat_session import context_text, stats_text


def elided_label(text: str, name: str, accessible: str, role: str) -> QElidingLabel:
    """One line that elides at any width (its whole text in the tooltip when set)."""
    label = QElidingLabel(text)
    label.setObjectName(name)
    label.setAccessibleName(accessible)
    label.setProperty("role", role)
    label.setElideMode(Qt.TextElideMode.ElideRight)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class StatusStrip(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatStatus")
        row = QHBoxLayout(self)
        row.setContentsMargins(18, 4, 18, 0)
        self.label = elided_label("", "replyStatsBar", "Reply statistics", "muted")
        row.addWidget(self.label, 1)
        self.meter = QProgressBar()
        self.meter.setObjectName("contextMeter")
        self.meter.setAccessibleName("Context used")
        self.meter.setMinimumWidth(170)
        self.meter.setMaximumWidth(240)
        self.meter.setFixedHeight(16)
        self.meter.setRange(0, 1)
        self.meter.setValue(0)
        self.meter.setFormat("No model loaded")
        self.meter.setToolTip("Tokens of the model's context this conversation uses")
        row.addWidget(self.meter)

    def say(self, text: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)

    def text(self) -> str:
        return str(self.label.text())

    def show_stats(self, stats: dict[str, Any], finish_reason: str = "") -> None:
        self.say(stats_text(stats, finish_reason) if stats else "")

    def reading(self, done: int, total: int) -> None:
        """Prompt processing before the first token, with llama.cpp's own progress."""
        if total > 0 and done < total:
            self.say(f"Reading the prompt… {done * 100 // total}% ({done:,} of {total:,} tokens)")
        else:
            self.say("Reading the prompt…")

    def show_context(self, used: int, limit: int) -> None:
        self.meter.setRange(0, max(limit, 1))
        self.meter.setValue(min(used, max(limit, 1)))
        self.meter.setFormat(context_text(used, limit))
        full = "true" if limit and used > limit else "false"
        if self.meter.property("full") != full:
            self.meter.setProperty("full", full)
            self.meter.style().unpolish(self.meter)
            self.meter.style().polish(self.meter)
