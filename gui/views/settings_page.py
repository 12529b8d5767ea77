"""The Settings page: what applies to the whole app, each in its own section.

Hub token (kept by the :class:`~fireside.core.secrets.SecretStore`: the page says which store),
theme (system, light, dark), the local server's default port, the folders Fireside keeps its
data in, and a slot for the Providers section another part of the app fills
(:meth:`SettingsPage.add_section`). Reading and writing settings and secrets touches the disk
or the OS keyring (which can block on D-Bus), so it runs on the bridge's workers.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from fireside.core.paths import Paths
from fireside.core.settings import Settings, SettingsStore
from fireside.gui.bridge import Bridge
from fireside.gui.views.naming import named, note

log = logging.getLogger("fireside.gui.settings")
THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
TOKEN_URL = "https://huggingface.co/settings/tokens"
MAX_WIDTH = 860




def _form() -> QFormLayout:
    """A form whose fields keep their natural width (a theme picker need not span 800 px)."""
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
    return form


class Section(QFrame):
    """A titled card on the page; ``body`` is where its rows go."""

    def __init__(self, title: str, name: str, blurb: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName(title)
        self.setProperty("role", "card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        col = QVBoxLayout(self)
        col.setContentsMargins(18, 14, 18, 16)
        col.setSpacing(8)
        heading = QLabel(title)
        heading.setObjectName(name + "Title")
        heading.setProperty("role", "title")
        col.addWidget(heading)
        if blurb:
            col.addWidget(note(blurb, name + "Blurb", title + " explained"))
        self.body = QVBoxLayout()
        self.body.setSpacing(8)
        col.addLayout(self.body)


class SettingsPage(QScrollArea):
    theme_chosen = Signal(str)  # "system" | "light" | "dark"
    server_port_changed = Signal(int)

    def __init__(self, bridge: Bridge, settings: SettingsStore, paths: Paths,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPage")
        self.setAccessibleName("Settings page")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._bridge, self._store, self._paths = bridge, settings, paths
        self.loaded = False  # the stored values are shown (they are read on a worker)

        body = QWidget()
        body.setObjectName("settingsBody")
        outer = QHBoxLayout(body)
        outer.setContentsMargins(24, 20, 24, 24)
        column = QWidget()
        column.setObjectName("settingsColumn")
        column.setMaximumWidth(MAX_WIDTH)  # lines a person can read on a wide window
        outer.addWidget(column, 1)
        outer.addStretch(0)
        self._column = QVBoxLayout(column)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(16)
        title = QLabel("Settings")
        title.setObjectName("settingsTitle")
        title.setProperty("role", "heading")
        self._column.addWidget(title)
        self._column.addWidget(self._hub_section())
        self._column.addWidget(self._appearance_section())
        self._column.addWidget(self._server_section())
        self._column.addWidget(self._folders_section())
        self.providers = Section("Providers", "providersSection",
                                 "Remote models: a hosted service (Groq, OpenRouter…), "
                                 "another Fireside or a vLLM cluster, named PROVIDER:MODEL.")
        self.providers_placeholder = note("Nothing to set up yet.", "providersPlaceholder",
                                           "No providers yet")
        self.providers.body.addWidget(self.providers_placeholder)
        self._column.addWidget(self.providers)
        self._column.addStretch(1)
        self.setWidget(body)

        self._port_timer = QTimer(self)
        self._port_timer.setSingleShot(True)
        self._port_timer.setInterval(500)
        self._port_timer.timeout.connect(self._save_port)
        self.reload()

    # -- sections ------------------------------------------------------------------------
    def _hub_section(self) -> Section:
        section = Section(
            "Hugging Face Hub", "hubSection",
            "Gated models (Llama, Gemma and others) need a token: accept the model's terms on "
            f"the Hub, then paste a read token from {TOKEN_URL}.")
        row = QHBoxLayout()
        self.hub_token = named(QLineEdit(), "hubToken", "Hub token")
        self.hub_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.hub_token.setPlaceholderText("hf_…")
        self.hub_token.returnPressed.connect(self.save_token)
        self.save_token_btn = named(QPushButton("Save"), "saveHubToken", "Save Hub token")
        self.save_token_btn.clicked.connect(self.save_token)
        self.clear_token_btn = named(QPushButton("Clear"), "clearHubToken", "Clear Hub token")
        self.clear_token_btn.clicked.connect(self.clear_token)
        row.addWidget(self.hub_token, 1)
        row.addWidget(self.save_token_btn)
        row.addWidget(self.clear_token_btn)
        section.body.addLayout(row)
        self.token_state = note("", "hubTokenState", "Hub token state")
        section.body.addWidget(self.token_state)
        return section

    def _appearance_section(self) -> Section:
        section = Section("Appearance", "appearanceSection")
        form = _form()
        self.theme = named(QComboBox(), "themePicker", "Theme")
        for key, text in THEMES:
            self.theme.addItem(text, key)
        self.theme.currentIndexChanged.connect(self._on_theme)
        form.addRow("Theme", self.theme)
        section.body.addLayout(form)
        return section

    def _server_section(self) -> Section:
        section = Section("Local server", "serverSection",
                          "The port the OpenAI-compatible server starts on. If another "
                          "program holds it, the Server page offers the next free one.")
        form = _form()
        self.server_port = named(QSpinBox(), "defaultServerPort", "Default server port")
        self.server_port.setRange(1024, 65535)
        self.server_port.valueChanged.connect(self._on_port)
        form.addRow("Default port", self.server_port)
        section.body.addLayout(form)
        return section

    def _folders_section(self) -> Section:
        section = Section("Folders", "foldersSection",
                          "Models, downloads and conversations live in the data folder; "
                          "the log folder helps with bug reports.")
        form = QFormLayout()
        for label, key, path in (("Data", "data", self._paths.data),
                                 ("Models", "models", self._paths.models),
                                 ("Logs", "logs", self._paths.logs)):
            row = QHBoxLayout()
            shown = named(QLineEdit(str(path)), f"{key}Folder", f"{label} folder")
            shown.setReadOnly(True)
            shown.setCursorPosition(0)
            row.addWidget(shown, 1)
            open_btn = named(QPushButton("Open"), f"open{label}Folder",
                              f"Open {label.lower()} folder")
            open_btn.clicked.connect(lambda _c=False, p=path: self.open_folder(p))
            row.addWidget(open_btn)
            form.addRow(label, row)
        section.body.addLayout(form)
        return section

    def add_section(self, section: QWidget, *, replace_providers: bool = False) -> None:
        """Another area's section (providers...), placed above the trailing stretch.

        With ``replace_providers`` it goes inside the Providers card, in place of its
        placeholder."""
        if replace_providers:
            self.providers_placeholder.setVisible(False)
            self.providers.body.addWidget(section)
        else:
            self._column.insertWidget(self._column.count() - 1, section)

    # -- reading -------------------------------------------------------------------------
    def reload(self) -> None:
        """Show what is stored (read on a worker: the keyring may take a moment)."""
        store = self._store
        self._bridge.submit(lambda: (store.read(), store.secrets.where()), self._show,
                            self._say)

    @Slot(object)
    def _show(self, result: tuple[Settings, str]) -> None:
        settings, where = result
        for widget in (self.theme, self.server_port):  # showing is not choosing: no saving
            widget.blockSignals(True)
        chosen = settings.ui.get("theme", "system")
        self.theme.setCurrentIndex(max(0, self.theme.findData(chosen)))
        self.server_port.setValue(settings.server.port)
        for widget in (self.theme, self.server_port):
            widget.blockSignals(False)
        self.hub_token.setText(settings.hub.token)
        self._show_token_state(bool(settings.hub.token), where)
        self.loaded = True

    def _show_token_state(self, is_set: bool, where: str) -> None:
        env = " HF_TOKEN from the environment is used while none is set here." \
            if os.environ.get("HF_TOKEN") and not is_set else ""
        state = "A token is set; it is" if is_set else "No token set. A token you save is"
        self.token_state.setText(f"{state} {where}.{env}")
        self.clear_token_btn.setEnabled(is_set)

    def _say(self, message: str) -> None:
        self.token_state.setText(message)

    # -- writing -------------------------------------------------------------------------
    @Slot()
    def save_token(self) -> None:
        self._write_token(self.hub_token.text().strip())

    @Slot()
    def clear_token(self) -> None:
        self.hub_token.clear()
        self._write_token("")

    def _write_token(self, value: str) -> None:
        store = self._store

        def write() -> tuple[bool, str]:
            settings = store.update(lambda s: setattr(s.hub, "token", value))
            return bool(settings.hub.token), store.secrets.where()

        self._bridge.submit(write, lambda r: self._show_token_state(*r), self._say)

    @Slot(int)
    def _on_theme(self, index: int) -> None:
        chosen = str(self.theme.itemData(index))
        store = self._store

        def save(settings: Settings) -> None:
            settings.ui["theme"] = chosen

        self._bridge.submit(lambda: store.update(save),
                            on_error=lambda m: log.warning("theme not saved: %s", m))
        self.theme_chosen.emit(chosen)

    def set_theme(self, chosen: str) -> None:
        """Show ``chosen`` and apply it (saved like a choice made here)."""
        index = self.theme.findData(chosen)
        if index >= 0:
            self.theme.setCurrentIndex(index)

    @Slot(int)
    def _on_port(self, _value: int) -> None:
        self._port_timer.start()

    @Slot()
    def _save_port(self) -> None:
        port, store = self.server_port.value(), self._store
        self._bridge.submit(lambda: store.update(lambda s: setattr(s.server, "port", port)),
                            on_error=lambda m: log.warning("port not saved: %s", m))
        self.server_port_changed.emit(port)

    def open_folder(self, path: Path) -> bool:
        path.mkdir(parents=True, exist_ok=True)
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
