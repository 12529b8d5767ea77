"""First run with no models: one button gets the small starter model, one goes to Discover."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fireside.core.models import starter
from fireside.core.units import human_bytes
from fireside.gui.bridge import Bridge


class WelcomeView(QWidget):
    installed = Signal(object)  # LocalModel
    browse_requested = Signal()

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("welcomeView")
        self.setAccessibleName("Welcome")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        card = QFrame()
        card.setObjectName("welcomeCard")
        card.setMaximumWidth(560)
        col = QVBoxLayout(card)
        col.setContentsMargins(36, 32, 36, 32)
        col.setSpacing(14)
        title = QLabel("<h1 style='margin:0'>Welcome to Fireside</h1>")
        title.setObjectName("welcomeTitle")
        col.addWidget(title)
        intro = QLabel(
            "Chat with open-weight language models that run entirely on this computer. "
            "Nothing you type leaves it.<br><br>To start, get the small starter model "
            f"(SmolLM2 135M Instruct, {human_bytes(starter.SIZE).replace(' ', '&nbsp;')}, "
            "Apache-2.0). It is quick "
            "on any machine; larger, smarter models are one click away in Discover.")
        intro.setObjectName("welcomeText")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(intro)
        row = QHBoxLayout()
        self.get = QPushButton("Get the starter model")
        self.get.setObjectName("getStarter")
        self.get.setAccessibleName("Get the starter model")
        self.get.setProperty("variant", "primary")
        self.get.setMinimumHeight(36)
        self.get.clicked.connect(self.install)
        self.browse = QPushButton("Browse models")
        self.browse.setObjectName("browseModels")
        self.browse.setAccessibleName("Browse models")
        self.browse.setMinimumHeight(36)
        self.browse.clicked.connect(self.browse_requested)
        row.addWidget(self.get)
        row.addWidget(self.browse)
        row.addStretch(1)
        col.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setObjectName("starterProgress")
        self.progress.setAccessibleName("Starter model progress")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.progress.setVisible(False)
        col.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setObjectName("starterStatus")
        self.status.setAccessibleName("Starter model status")
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        holder = QHBoxLayout()
        holder.addStretch(1)
        holder.addWidget(card, 4)
        holder.addStretch(1)
        outer.addLayout(holder)
        outer.addStretch(2)

    @Slot()
    def install(self) -> None:
        ctx = self.bridge.ctx
        say = self.bridge.relay(self.status.setText)
        self.get.setEnabled(False)
        self.progress.setVisible(True)
        self.status.setText("Getting the starter model…")

        def work() -> object:
            return starter.obtain(ctx.library, starter.default_cache(ctx.paths.cache), say)

        self.bridge.submit(work, self._on_done, self._on_error)

    def _on_done(self, model: object) -> None:
        self.progress.setVisible(False)
        self.get.setEnabled(True)
        self.status.setText("Starter model ready.")
        self.installed.emit(model)

    def _on_error(self, message: str) -> None:
        self.progress.setVisible(False)
        self.get.setEnabled(True)
        self.status.setText(f"Could not get the starter model: {message}. "
                            "Check the connection and try again.")
