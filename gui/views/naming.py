"""Names every interactive widget carries: an ``objectName`` for tests and style sheets, an
accessible name for screen readers (the project's rule for anything a person can use)."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, accessible: str) -> W:
    widget.setObjectName(name)
    widget.setAccessibleName(accessible)
    return widget


def note(text: str, name: str, accessible: str) -> QLabel:
    """A muted, wrapping, selectable explanation under a setting."""
    label = named(QLabel(text), name, accessible)
    label.setWordWrap(True)
    label.setProperty("role", "muted")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
