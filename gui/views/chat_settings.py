"""The per-conversation side panel: model, system prompt, sampling, named presets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from fireside.core.inference.types import SamplingParams
from fireside.core.models.library import LocalModel
from fireside.core.remote.client import RemoteModel
from fireside.gui import icons
from fireside.gui.views.naming import named

BUILTIN_PRESETS: dict[str, dict[str, Any]] = {
    "Balanced": {},
    "Precise": {"temperature": 0.2, "top_p": 0.9, "top_k": 20, "min_p": 0.05},
    "Creative": {"temperature": 1.0, "top_p": 0.98, "top_k": 80, "min_p": 0.02},
}
SAMPLING_KEYS = {f.name for f in fields(SamplingParams)}


def remote_note(provider: str) -> str:
    return f"runs on {provider} — your messages leave this computer"


def params_from(data: dict[str, Any]) -> SamplingParams:
    """SamplingParams from a stored dict, ignoring keys it does not know."""
    return SamplingParams(**{k: v for k, v in data.items() if k in SAMPLING_KEYS})



class SettingsPanel(QScrollArea):
    """Emits ``changed`` (debounced) when the person edits anything but the model."""

    changed = Signal()
    model_chosen = Signal(str)  # model name
    load_settings_requested = Signal(str)  # model name: open the Load settings dialog
    preset_save_requested = Signal()
    preset_delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatSettings")
        self.setAccessibleName("Conversation settings")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(270)
        self.setMaximumWidth(340)
        self._quiet = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(400)
        self._debounce.timeout.connect(self.changed)

        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(14, 14, 14, 14)
        col.setSpacing(8)

        col.addWidget(self._heading("Model"))
        self.model = QComboBox()
        named(self.model, "modelPicker", "Model")
        self.model.setPlaceholderText("Choose a model")
        self.model.activated.connect(self._on_model_activated)
        # long model names elide in the picker rather than widen the panel past its edge
        self.model.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(8)
        self.load_settings = QToolButton()
        icons.put(self.load_settings, "load_settings", size=18)
        if self.load_settings.icon().isNull():  # no icon font: words, never a missing glyph
            self.load_settings.setText("Load…")
        named(self.load_settings, "loadSettingsButton", "Load settings")
        self.load_settings.setToolTip("Load settings… (context length, GPU layers, KV cache "
                                      "type, parallel requests)")
        self.load_settings.setStyleSheet("padding: 3px 6px;")
        self.load_settings.clicked.connect(
            lambda: self.load_settings_requested.emit(self.current_model()))
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.load_settings)
        col.addLayout(model_row)
        self.load_bar = QProgressBar()
        named(self.load_bar, "loadProgress", "Model loading progress")
        self.load_bar.setRange(0, 0)
        self.load_bar.setTextVisible(False)
        self.load_bar.setFixedHeight(6)
        self.load_bar.setVisible(False)
        col.addWidget(self.load_bar)
        self.model_status = QLabel("No model loaded")
        self.model_status.setObjectName("modelStatus")
        self.model_status.setAccessibleName("Model status")
        self.model_status.setProperty("role", "muted")
        self.model_status.setWordWrap(True)
        col.addWidget(self.model_status)

        col.addSpacing(6)
        col.addWidget(self._heading("Preset"))
        row = QHBoxLayout()
        self.preset = QComboBox()
        named(self.preset, "presetPicker", "Preset")
        self.preset.activated.connect(self._on_preset)
        row.addWidget(self.preset, 1)
        self.save_preset = QPushButton("Save…")
        named(self.save_preset, "savePreset", "Save preset")
        self.save_preset.clicked.connect(self.preset_save_requested)
        row.addWidget(self.save_preset)
        self.delete_preset = QPushButton("Delete")
        named(self.delete_preset, "deletePreset", "Delete preset")
        self.delete_preset.clicked.connect(
            lambda: self.preset_delete_requested.emit(self.preset.currentText()))
        row.addWidget(self.delete_preset)
        col.addLayout(row)

        col.addSpacing(6)
        col.addWidget(self._heading("System prompt"))
        self.system = QPlainTextEdit()
        named(self.system, "systemPrompt", "System prompt")
        self.system.setPlaceholderText("You are a helpful assistant.")
        self.system.setFixedHeight(96)
        self.system.textChanged.connect(self._edited)
        col.addWidget(self.system)

        col.addSpacing(6)
        col.addWidget(self._heading("Sampling"))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(12)
        self.temperature = self._double("temperature", "Temperature", 0, 2, 0.05, 2)
        self.top_p = self._double("topP", "Top P", 0, 1, 0.01, 2)
        self.top_k = self._int("topK", "Top K", 0, 1000)
        self.min_p = self._double("minP", "Min P", 0, 1, 0.01, 2)
        self.repeat = self._double("repeatPenalty", "Repeat penalty", 0.5, 2, 0.01, 2)
        self.max_tokens = self._int("maxTokens", "Max tokens", 0, 131072)
        self.max_tokens.setSpecialValueText("no limit")
        self.seed = self._int("seed", "Seed", -1, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        for label, widget in (("Temperature", self.temperature), ("Top P", self.top_p),
                              ("Max tokens", self.max_tokens), ("Seed", self.seed)):
            form.addRow(label, widget)
        col.addLayout(form)
        col.addWidget(self._advanced())
        stop_label = QLabel("Stop strings (one per line)")
        stop_label.setProperty("role", "muted")
        col.addWidget(stop_label)
        self.stop = QPlainTextEdit()
        named(self.stop, "stopStrings", "Stop strings")
        self.stop.setFixedHeight(56)
        self.stop.textChanged.connect(self._edited)
        col.addWidget(self.stop)
        col.addStretch(1)
        self.setWidget(body)
        self.set_presets({})
        self.set_sampling(SamplingParams())

    # -- building ------------------------------------------------------------------------
    def _advanced(self) -> QCollapsible:
        """Top K, Min P and Repeat penalty, folded away: most people never change them."""
        inner = QWidget()
        inner.setObjectName("advancedSampling")
        form = QFormLayout(inner)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(12)
        for label, widget in (("Top K", self.top_k), ("Min P", self.min_p),
                              ("Repeat penalty", self.repeat)):
            form.addRow(label, widget)
        self.advanced = QCollapsible("Advanced")
        self.retint()
        named(self.advanced, "advanced", "Advanced")
        toggle = self.advanced.toggleButton()
        named(toggle, "advancedToggle", "Advanced")
        toggle.setToolTip("Top K, Min P, Repeat penalty")
        self.advanced.setDuration(120)
        self.advanced.addWidget(inner)
        self.advanced.collapse(animate=False)
        return self.advanced

    def retint(self) -> None:
        """The Advanced chevrons in the current theme's colour (after a scheme change too)."""
        self.advanced.setExpandedIcon(icons.icon("more", "muted"))
        self.advanced.setCollapsedIcon(icons.icon("more_closed", "muted"))

    def _heading(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setProperty("role", "speaker")
        return label

    def _double(self, name: str, accessible: str, low: float, high: float, step: float,
                decimals: int) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        named(box, name, accessible)
        box.setRange(low, high)
        box.setSingleStep(step)
        box.setDecimals(decimals)
        box.valueChanged.connect(self._edited)
        return box

    def _int(self, name: str, accessible: str, low: int, high: int) -> QSpinBox:
        box = QSpinBox()
        named(box, name, accessible)
        box.setRange(low, high)
        box.valueChanged.connect(self._edited)
        return box

    @Slot()
    def _edited(self) -> None:
        if not self._quiet:
            self._debounce.start()

    # -- model ---------------------------------------------------------------------------
    def set_models(self, models: list[LocalModel], current: str,
                   remote: Sequence[RemoteModel] = ()) -> None:
        """Local models, then (under their own heading) remote ones, marked as leaving."""
        self.model.blockSignals(True)
        self.model.clear()
        if remote:
            self._heading_item("On this computer")
        for m in models:
            label = m.name if not m.error else f"{m.name} (unreadable)"
            self.model.addItem(label, m.name)
            if m.error:
                self.model.setItemData(self.model.count() - 1, m.error,
                                       Qt.ItemDataRole.ToolTipRole)
        if remote:
            self._heading_item("Remote: your messages leave this computer")
        for r in remote:
            self.model.addItem(f"{r.id} · {r.provider}", r.ref)
            self.model.setItemData(self.model.count() - 1, remote_note(r.provider),
                                   Qt.ItemDataRole.ToolTipRole)
        self.select_model(current)
        self.model.blockSignals(False)

    def _heading_item(self, text: str) -> None:
        """A group heading in the picker: shown, never chosen."""
        self.model.addItem(text)
        item = self.model.model().item(self.model.count() - 1)  # type: ignore[attr-defined]
        item.setFlags(item.flags() & ~(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled))

    def select_model(self, name: str) -> None:
        index = self.model.findData(name)
        self.model.setCurrentIndex(index)

    def current_model(self) -> str:
        data = self.model.currentData()
        return str(data) if data else ""

    @Slot(int)
    def _on_model_activated(self, index: int) -> None:
        name = self.model.itemData(index)
        if name:
            self.model_chosen.emit(str(name))

    def set_loading(self, text: str | None) -> None:
        self.load_bar.setVisible(text is not None)
        if text is not None:
            self.model_status.setText(text)

    # -- sampling ------------------------------------------------------------------------
    def set_sampling(self, params: SamplingParams, system_prompt: str | None = None) -> None:
        self._quiet = True
        try:
            self.temperature.setValue(params.temperature)
            self.top_p.setValue(params.top_p)
            self.top_k.setValue(params.top_k)
            self.min_p.setValue(params.min_p)
            self.repeat.setValue(params.repeat_penalty)
            self.max_tokens.setValue(params.max_tokens or 0)
            self.seed.setValue(-1 if params.seed is None else params.seed)
            self.stop.setPlainText("\n".join(params.stop))
            if system_prompt is not None:
                self.system.setPlainText(system_prompt)
        finally:
            self._quiet = False

    def sampling(self) -> SamplingParams:
        stops = [s for s in self.stop.toPlainText().split("\n") if s]
        return SamplingParams(
            temperature=self.temperature.value(), top_p=self.top_p.value(),
            top_k=self.top_k.value(), min_p=self.min_p.value(),
            repeat_penalty=self.repeat.value(), max_tokens=self.max_tokens.value() or None,
            seed=None if self.seed.value() < 0 else self.seed.value(), stop=stops)

    def system_prompt(self) -> str:
        return self.system.toPlainText()

    # -- presets -------------------------------------------------------------------------
    def set_presets(self, saved: dict[str, tuple[str, dict[str, Any]]],
                    current: str = "") -> None:
        """Built-ins first, then the saved ones (name → (system prompt, sampling))."""
        self._presets: dict[str, tuple[str | None, dict[str, Any]]] = {
            k: (None, v) for k, v in BUILTIN_PRESETS.items()}
        self._presets.update(saved)
        self.preset.blockSignals(True)
        self.preset.clear()
        self.preset.addItems(list(self._presets))
        self.preset.setCurrentIndex(max(0, self.preset.findText(current or "Balanced")))
        self.preset.blockSignals(False)
        self._update_preset_buttons()

    def _update_preset_buttons(self) -> None:
        self.delete_preset.setEnabled(self.preset.currentText() not in BUILTIN_PRESETS
                                      and self.preset.currentIndex() >= 0)

    def current_preset(self) -> str:
        return self.preset.currentText() if self.preset.currentIndex() >= 0 else ""

    @Slot(int)
    def _on_preset(self, index: int) -> None:
        name = self.preset.itemText(index)
        system, sampling = self._presets.get(name, (None, {}))
        self.set_sampling(params_from(sampling), system)
        self._update_preset_buttons()
        self._debounce.start()
