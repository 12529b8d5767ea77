"""Above the transcript: the conversation's title, Find, and (when narrow) the settings toggle."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from fireside.gui.views.chat_find import FindBar
from fireside.gui.views.chat_status import elided_label
from fireside.gui.views.chat_transcript import Transcript


def _tool(text: str, name: str, accessible: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setObjectName(name)
    button.setAccessibleName(accessible)
    button.setToolTip(tip)
    return button


class ChatHeader(QWidget):
    settings_toggled = Signal(bool)

    def __init__(self, transcript: Transcript, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatHeader")
        row = QHBoxLayout(self)
        row.setContentsMargins(18, 8, 12, 0)
        self.title = elided_label("New conversation", "conversationTitle",
                                  "Conversation title", "title")
        row.addWidget(self.title, 1)
        self.find_button = _tool("Find", "findButton", "Find in conversation", "Find (Ctrl+F)")
        self.find_button.clicked.connect(self.open_find)
        row.addWidget(self.find_button)
        self.toggle = _tool("Settings", "settingsToggle", "Show conversation settings",
                            "Model, system prompt and sampling")
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self.settings_toggled)
        self.toggle.setVisible(False)
        row.addWidget(self.toggle)
        self.find_bar = FindBar(transcript)

    def set_title(self, title: str) -> None:
        self.title.setText(title)
        self.title.setToolTip(title)

    def set_settings_toggle(self, shown: bool, checked: bool) -> None:
        self.toggle.setVisible(shown)
        self.toggle.setChecked(checked)

    @Slot()
    def open_find(self) -> None:
        self.find_bar.open()
