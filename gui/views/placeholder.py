"""Stands in for a view whose module is missing or failed to start, and says so."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class PlaceholderView(QWidget):
    def __init__(self, title: str, reason: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"placeholder-{title.lower().replace(' ', '-')}")
        self.setAccessibleName(f"{title} (not available)")
        layout = QVBoxLayout(self)
        label = QLabel(f"<h2>{title}</h2><p>This view is not available in this build.</p>"
                       f"<p style='color: gray'>{reason}</p>")
        label.setObjectName("placeholderText")
        label.setAccessibleName(f"{title} is not available")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(label)
