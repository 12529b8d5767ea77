"""What an empty conversation shows: a friendly line and a few example prompts to click.

A click puts the prompt in the composer and sends it (``prompt_chosen``), so a first-time user
sees the model answer without having to think of a question. The widget carries its own style
sheet (theme.style_tree on this subtree only): the transcript around it has none, for speed.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from fireside.gui import icons, theme

EXAMPLE_PROMPTS = (
    "Explain how a rainbow forms, in two short paragraphs",
    "Write a Python function that checks whether a word is a palindrome",
    "Plan a relaxed weekend trip to the mountains",
    "Draft a friendly email asking to move a meeting to Friday",
)


def _prompt_button(prompt: str) -> QPushButton:
    """A card-like button whose words wrap (a QPushButton's own text never does)."""
    button = QPushButton()
    button.setAccessibleName(prompt)
    button.setToolTip("Send this to the model")
    button.setProperty("prompt", "true")
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    button.setFixedHeight(64)
    row = QHBoxLayout(button)
    row.setContentsMargins(12, 6, 12, 6)
    row.setSpacing(10)
    mark = QLabel()
    mark.setObjectName("promptIcon")
    words = QLabel(prompt)
    words.setWordWrap(True)
    for label in (mark, words):
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        row.addWidget(label)
    row.setStretch(1, 1)
    button.setText("")
    button.setProperty("promptText", prompt)
    return button


class EmptyChat(QWidget):
    prompt_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyChat")
        self.setAccessibleName("Empty conversation")
        col = QVBoxLayout(self)
        col.setContentsMargins(8, 40, 8, 8)
        col.setSpacing(10)
        mark = QLabel()
        mark.setObjectName("emptyChatLogo")
        mark.setPixmap(icons.logo().pixmap(QSize(56, 56)))
        mark.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("What shall we talk about?")
        title.setObjectName("emptyChatTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel("Everything you type stays on this computer. Ask anything, or try one "
                      "of these:")
        text.setObjectName("emptyChatText")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        col.addWidget(mark)
        col.addWidget(title)
        col.addWidget(text)
        col.addSpacing(8)
        grid = QGridLayout()
        grid.setSpacing(10)
        self.buttons: list[QPushButton] = []
        for i, prompt in enumerate(EXAMPLE_PROMPTS):
            button = _prompt_button(prompt)
            button.setObjectName(f"examplePrompt{i}")
            button.clicked.connect(lambda _c=False, p=prompt: self.prompt_chosen.emit(p))
            grid.addWidget(button, i // 2, i % 2)
            self.buttons.append(button)
        col.addLayout(grid)
        theme.style_tree(self)
        self.retint()

    def retint(self) -> None:
        """The prompts' bulbs in the current theme's accent (after a scheme change too)."""
        pixmap = icons.icon("prompt", "accent").pixmap(QSize(18, 18))
        for button in self.buttons:
            mark = button.findChild(QLabel, "promptIcon")
            if mark is not None:
                mark.setPixmap(pixmap)
