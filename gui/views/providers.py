"""Settings → Providers: remote models from Groq, OpenRouter, vLLM, another Fireside…

Add one from a preset (the base URL is filled in), paste its key (hidden as typed; kept in the
secret store, never in a settings file), test the connection, refresh its models, turn it on
or off, remove it. Every read and write of providers, keys (the keyring may block on D-Bus)
and every request to a provider runs on the bridge's workers; the GUI thread only shows
results. One row widget per provider: people have a handful, not thousands.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fireside.core.remote.providers import CUSTOM, PRESETS, Provider, preset_url
from fireside.core.remote.service import Remote, TestResult
from fireside.gui.bridge import Bridge
from fireside.gui.views.naming import named, note

log = logging.getLogger("fireside.gui.providers")
PRIVACY = ("A remote model runs on someone else's computer: everything you send it (your "
           "messages and the conversation so far) leaves this computer and is handled under "
           "that provider's terms. Local models never send anything anywhere.")




class ProviderRow(QFrame):
    """One configured provider: what it is, its state, and what can be done with it."""

    def __init__(self, provider: Provider, has_key: bool, panel: ProvidersPanel) -> None:
        super().__init__()
        name = provider.name
        self.provider = provider
        named(self, f"provider-{name}", f"Provider {name}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        col = QVBoxLayout(self)
        col.setContentsMargins(10, 8, 10, 8)
        top = QHBoxLayout()
        title = named(QLabel(f"<b>{name}</b> · {provider.base_url}"), f"providerTitle-{name}",
                       f"{name} at {provider.base_url}")
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(title, 1)
        self.enabled = named(QCheckBox("On"), f"providerEnabled-{name}",
                              f"Offer {name}'s models")
        self.enabled.setChecked(provider.enabled)
        self.enabled.toggled.connect(lambda on: panel.set_enabled(name, on))
        top.addWidget(self.enabled)
        col.addLayout(top)
        buttons = QHBoxLayout()
        self.test_btn = named(QPushButton("Test connection"), f"providerTest-{name}",
                               f"Test the connection to {name}")
        self.test_btn.clicked.connect(lambda: panel.test(name))
        self.refresh_btn = named(QPushButton("Refresh models"), f"providerRefresh-{name}",
                                  f"Refresh {name}'s models")
        self.refresh_btn.clicked.connect(lambda: panel.refresh(name))
        self.remove_btn = named(QPushButton("Remove"), f"providerRemove-{name}",
                                 f"Remove {name} and its key")
        self.remove_btn.clicked.connect(lambda: panel.remove(name))
        for b in (self.test_btn, self.refresh_btn, self.remove_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        col.addLayout(buttons)
        kind = "OpenAI-compatible" if provider.preset == CUSTOM else \
            PRESETS.get(provider.preset, (provider.preset, ""))[0]
        self.summary = f"{kind} · {'key stored' if has_key else 'no key'}" + (
            f" · only {provider.model_filter}" if provider.model_filter else "")
        self.state = note(self.summary, f"providerState-{name}", f"{name} state")
        col.addWidget(self.state)

    def show_result(self, result: TestResult) -> None:
        if result.ok:
            self.state.setText(f"{self.summary} · {result.model_count} models · answered in "
                               f"{result.latency_ms:.0f} ms")
        else:
            self.state.setText(f"{self.summary} · last test failed")

    def busy(self, on: bool) -> None:
        for b in (self.test_btn, self.refresh_btn, self.remove_btn):
            b.setEnabled(not on)


class ProvidersPanel(QWidget):
    changed = Signal()  # providers or their model lists changed: pickers list again

    def __init__(self, bridge: Bridge, remote: Remote, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "providersPanel", "Providers")
        self._bridge, self._remote = bridge, remote
        self.rows: dict[str, ProviderRow] = {}
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(8)
        col.addWidget(note(PRIVACY, "providersPrivacy", "Privacy of remote models"))
        self._list = QVBoxLayout()
        self._list.setSpacing(6)
        col.addLayout(self._list)
        self.empty = note("No providers yet: add one below.", "providersEmpty",
                            "No providers yet")
        self._list.addWidget(self.empty)
        col.addWidget(self._add_form())
        self.status = note("", "providersStatus", "Providers status")
        col.addWidget(self.status)
        self.reload()

    def _add_form(self) -> QWidget:
        box = named(QFrame(), "addProviderForm", "Add a provider")
        outer = QVBoxLayout(box)
        outer.setContentsMargins(0, 8, 0, 0)
        heading = QLabel("<b>Add a provider</b>")
        heading.setObjectName("addProviderTitle")
        outer.addWidget(heading)
        form = QFormLayout()
        outer.addLayout(form)
        self.preset = named(QComboBox(), "providerPreset", "Provider preset")
        # long preset names elide rather than widen Settings past an 800 px window
        self.preset.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset.setMinimumContentsLength(16)
        for key, (label, _url) in PRESETS.items():
            self.preset.addItem(label, key)
        self.preset.currentIndexChanged.connect(self._on_preset)
        self.name = named(QLineEdit(), "providerName", "Provider name")
        self.name.setPlaceholderText("groq (used as groq:MODEL)")
        self.base_url = named(QLineEdit(), "providerBaseUrl", "Provider base URL")
        self.base_url.setPlaceholderText("http://192.168.1.20:8080/v1")
        self.api_key = named(QLineEdit(), "providerApiKey", "Provider API key")
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("paste the key (empty if none is needed)")
        self.add_btn = named(QPushButton("Add provider"), "addProvider", "Add provider")
        self.add_btn.clicked.connect(self.add)
        form.addRow("Preset", self.preset)
        form.addRow("Name", self.name)
        form.addRow("Base URL", self.base_url)
        form.addRow("API key", self.api_key)
        button_row = QHBoxLayout()
        button_row.addWidget(self.add_btn)
        button_row.addStretch(1)
        form.addRow("", button_row)
        self._on_preset(self.preset.currentIndex())
        return box

    @Slot(int)
    def _on_preset(self, index: int) -> None:
        key = str(self.preset.itemData(index))
        if key != CUSTOM:
            self.name.setText(key)
            self.base_url.setText(preset_url(key))
        else:
            self.name.clear()
            self.base_url.clear()

    # -- reading -------------------------------------------------------------------------
    def reload(self) -> None:
        remote = self._remote

        def read() -> list[tuple[Provider, bool]]:
            return [(p, bool(remote.store.api_key(p.name))) for p in remote.store.list()]

        self._bridge.submit(read, self._show, self.say)

    def _show(self, providers: list[tuple[Provider, bool]]) -> None:
        for row in self.rows.values():
            self._list.removeWidget(row)
            row.deleteLater()
        self.rows = {}
        for provider, has_key in providers:
            row = ProviderRow(provider, has_key, self)
            self.rows[provider.name] = row
            self._list.addWidget(row)
        self.empty.setVisible(not providers)

    def say(self, message: str) -> None:
        self.status.setText(message)

    # -- actions (each on a worker) ------------------------------------------------------
    @Slot()
    def add(self) -> None:
        preset = str(self.preset.currentData())
        provider = Provider(self.name.text().strip(), self.base_url.text().strip(), preset)
        key = self.api_key.text().strip()
        store = self._remote.store

        def save() -> str:
            store.save(provider, key)
            return provider.name

        def done(name: str) -> None:
            self.api_key.clear()
            self.say(f"Added {name}. Testing the connection…")
            self.reload()
            self.changed.emit()
            self.test(name)

        self._bridge.submit(save, done, self.say)

    def test(self, name: str) -> None:
        row = self.rows.get(name)
        if row is not None:
            row.busy(True)
        self.say(f"Testing {name}…")
        self._bridge.submit(lambda: self._remote.test(name),
                            lambda r: self._tested(name, r), lambda m: self._tested(name, m))

    def _tested(self, name: str, result: TestResult | str) -> None:
        row = self.rows.get(name)
        if row is not None:
            row.busy(False)
        if isinstance(result, str):
            self.say(result)
            return
        if row is not None:
            row.show_result(result)
        self.say(("✓ " if result.ok else "✗ ") + result.message)
        if result.ok:
            self.changed.emit()

    def refresh(self, name: str) -> None:
        row = self.rows.get(name)
        if row is not None:
            row.busy(True)
        self.say(f"Asking {name} for its models…")

        def fetch() -> int:
            return len(self._remote.models(name, refresh=True))

        def done(count: int) -> None:
            if (r := self.rows.get(name)) is not None:
                r.busy(False)
            self.say(f"{name} offers {count} models; they are in the chat's model picker.")
            self.changed.emit()

        def failed(message: str) -> None:
            if (r := self.rows.get(name)) is not None:
                r.busy(False)
            self.say(message)

        self._bridge.submit(fetch, done, failed)

    def set_enabled(self, name: str, on: bool) -> None:
        store = self._remote.store

        def save() -> None:
            provider = store.get(name)
            provider.enabled = on
            store.save(provider)

        def done(_none: None) -> None:
            self.say(f"{name} is {'on: its models are offered' if on else 'off'}.")
            self.changed.emit()

        self._bridge.submit(save, done, self.say)

    def remove(self, name: str) -> None:
        def done(_none: None) -> None:
            self.say(f"Removed {name} and its key.")
            self.reload()
            self.changed.emit()

        self._bridge.submit(lambda: self._remote.store.remove(name), done, self.say)
