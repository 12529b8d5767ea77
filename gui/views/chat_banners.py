"""The two banners above the transcript: an error, and "the context is full: what now?".

A failed load is an error with a way out: "Load settings…" opens the settings it failed with.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


def _banner(name: str, accessible: str) -> tuple[QFrame, QLabel, QHBoxLayout]:
    frame = QFrame()
    frame.setObjectName(name)
    frame.setAccessibleName(accessible)
    row = QHBoxLayout(frame)
    row.setContentsMargins(12, 6, 6, 6)
    label = QLabel()
    label.setObjectName(name + "Text")
    label.setAccessibleName(accessible + " text")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    row.addWidget(label, 1)
    frame.setVisible(False)
    return frame, label, row


def button(text: str, name: str, accessible: str) -> QPushButton:
    b = QPushButton(text)
    b.setObjectName(name)
    b.setAccessibleName(accessible)
    return b


class Banners(QWidget):
    drop_oldest_requested = Signal()
    fresh_chat_requested = Signal()
    load_settings_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(16, 0, 16, 0)
        col.setSpacing(8)
        self.error_bar, self.error_label, row = _banner("errorBanner", "Error")
        self.load_settings = button("Load settings…", "bannerLoadSettings",
                                    "Change load settings")
        self.load_settings.clicked.connect(self.load_settings_requested)
        self.load_settings.setVisible(False)
        row.addWidget(self.load_settings)
        dismiss = button("Dismiss", "dismissError", "Dismiss error")
        dismiss.clicked.connect(self._dismiss)
        row.addWidget(dismiss)
        self.context_bar, self.context_label, row = _banner("banner", "Context full")
        self.drop_oldest = button("Drop oldest turns", "dropOldest", "Drop oldest turns")
        self.drop_oldest.clicked.connect(self.drop_oldest_requested)
        self.fresh_chat = button("Start a new chat", "startNewChat", "Start a new chat")
        self.fresh_chat.clicked.connect(self.fresh_chat_requested)
        row.addWidget(self.drop_oldest)
        row.addWidget(self.fresh_chat)
        col.addWidget(self.error_bar)
        col.addWidget(self.context_bar)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.load_settings.setVisible(False)
        self.error_bar.setVisible(True)

    def show_load_error(self, message: str) -> None:
        """A load failed: say why, and offer the settings it was tried with."""
        self.show_error(message)
        self.load_settings.setVisible(True)

    def offer_context_choices(self, text: str) -> None:
        self.context_label.setText(text)
        self.context_bar.setVisible(True)

    def hide_all(self) -> None:
        self.error_bar.setVisible(False)
        self.context_bar.setVisible(False)

    @Slot()
    def _dismiss(self) -> None:
        self.error_bar.setVisible(False)
