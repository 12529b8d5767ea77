"""Per-model load settings with live memory prediction; refuses loads that will not fit.

The refusal rule is core's (:func:`fireside.core.hardware.estimate.check_load`), shared with the
CLI and the server; this dialog only shows it and offers the explicit override. Settings are
remembered per model in the SettingsStore's ``load`` dict (read and written on a worker).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

import psutil
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from fireside.core.hardware import estimate, offload, probe
from fireside.core.inference.types import KV_CACHE_TYPES, LoadSettings
from fireside.core.models.library import LocalModel
from fireside.core.models.meta import ModelMeta
from fireside.core.settings import Settings
from fireside.core.units import human_bytes
from fireside.gui import theme
from fireside.gui.bridge import Bridge
from fireside.gui.status_colors import status_color

log = logging.getLogger("fireside.gui.load_dialog")
AUTO_KEY = "load_auto_gpu_layers"  # settings.ui[AUTO_KEY][model] = True when "auto" is ticked


def _quick_hw() -> probe.HardwareInfo:
    """RAM only (psutil is instant); the full probe with GPUs arrives from a worker."""
    vm = psutil.virtual_memory()
    return probe.HardwareInfo("", 1, 1, int(vm.total), int(vm.available), 0)


def _size(n: int) -> str:
    return human_bytes(n, 2 if n >= 2**30 else 0)


class LoadSettingsDialog(QDialog):
    """``exec()`` then :meth:`load_settings` / :attr:`override`; saved on accept."""

    def __init__(self, bridge: Bridge, name: str, meta: ModelMeta,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loadSettingsDialog")
        self.setAccessibleName(f"Load settings for {name}")
        self.setWindowTitle(f"Load {name}")
        self._bridge, self._name, self._meta = bridge, name, meta
        self._hw = _quick_hw()
        self._settings: Settings | None = None
        self.check: estimate.LoadCheck | None = None
        trained = max(estimate.CTX_PAD, meta.context_length or 4096)
        layers = meta.block_count + 1

        def named(w: QWidget, obj: str, acc: str) -> Any:
            w.setObjectName(obj)
            w.setAccessibleName(acc)
            return w

        self.ctx_slider = named(QSlider(Qt.Orientation.Horizontal), "ctxSlider", "Context length")
        self.ctx_slider.setRange(1, max(1, trained // estimate.CTX_PAD))
        self.ctx_spin = named(QSpinBox(), "ctxSpin", "Context length in tokens")
        self.ctx_spin.setRange(estimate.CTX_PAD, trained)
        self.ctx_spin.setSingleStep(estimate.CTX_PAD)
        self.gpu_auto = named(QCheckBox("Auto (most that fit)"), "gpuAuto", "Auto GPU layers")
        self.gpu_spin = named(QSpinBox(), "gpuLayers", "GPU layers")
        self.gpu_spin.setRange(0, layers)
        self.threads = named(QSpinBox(), "threads", "Threads")
        self.threads.setRange(0, max(1, psutil.cpu_count() or 1))
        self.threads.setSpecialValueText("auto")
        self.batch = named(QComboBox(), "batch", "Batch size")
        for b in (64, 128, 256, 512, 1024, 2048):
            self.batch.addItem(str(b), b)
        self.parallel = named(QSpinBox(), "parallel", "Parallel requests")
        self.parallel.setRange(0, 16)
        self.parallel.setSpecialValueText("auto")
        self.parallel.setToolTip("Requests answered at the same time (chat and the local "
                                 "server). They share the context; 1 answers one at a time; "
                                 "auto: 8, or 4 for a sliding-window model.")
        self.flash = named(QCheckBox("Flash attention"), "flashAttn", "Flash attention")
        self.kv_type = named(QComboBox(), "kvType", "KV cache type")
        for t in KV_CACHE_TYPES:
            self.kv_type.addItem(t, t)
        self.mmap = named(QCheckBox("Memory-map the file (mmap)"), "mmap", "Use mmap")
        self.mlock = named(QCheckBox("Lock in RAM (mlock)"), "mlock", "Use mlock")
        self.prediction = named(QLabel(), "prediction", "Predicted memory")
        self.prediction.setWordWrap(True)
        self.override_box = named(QCheckBox("Load anyway, even though it is predicted not to fit"),
                                  "overrideLoad", "Override memory check")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        named(ok, "loadButton", "Load")
        ok.setText("Load")
        cancel = named(self.buttons.button(QDialogButtonBox.StandardButton.Cancel),
                       "cancelButton", "Cancel")
        for button in (ok, cancel):  # Fusion's stock tick and cross look out of place here
            button.setIcon(QIcon())
        self.setMinimumWidth(520)

        ctx_row = QHBoxLayout()
        ctx_row.addWidget(self.ctx_slider, 1)
        ctx_row.addWidget(self.ctx_spin)
        gpu_row = QHBoxLayout()
        gpu_row.addWidget(self.gpu_spin)
        gpu_row.addWidget(self.gpu_auto)
        form = QFormLayout()
        form.addRow(f"Context (trained {trained})", ctx_row)
        form.addRow(f"GPU layers (of {layers})", gpu_row)
        form.addRow("Threads", self.threads)
        form.addRow("Batch size", self.batch)
        form.addRow("Parallel requests", self.parallel)
        form.addRow("KV cache type", self.kv_type)
        form.addRow("", self.flash)
        form.addRow("", self.mmap)
        form.addRow("", self.mlock)
        theme.set_variant(ok, "primary")
        heading = QLabel(name)
        heading.setObjectName("loadDialogTitle")
        heading.setProperty("role", "title")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(12)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.prediction)
        layout.addWidget(self.override_box)
        layout.addWidget(self.buttons)

        theme.style_tree(self)  # a window of its own: not under the main window's sheets
        self.apply(LoadSettings(n_ctx=min(4096, trained)), auto_gpu=True)
        self.ctx_slider.valueChanged.connect(
            lambda v: self.ctx_spin.setValue(v * estimate.CTX_PAD))
        self.ctx_spin.valueChanged.connect(self._ctx_spin_changed)
        for sig in (self.gpu_spin.valueChanged, self.batch.currentIndexChanged,
                    self.kv_type.currentIndexChanged, self.override_box.toggled):
            sig.connect(self.update_prediction)
        self.gpu_auto.toggled.connect(self._auto_toggled)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        bridge.submit(lambda: probe.probe(include_backends=True), on_done=self._got_hw)
        bridge.submit(bridge.ctx.settings.read, on_done=self._got_settings)

    # -- state ---------------------------------------------------------------------------
    def apply(self, s: LoadSettings, *, auto_gpu: bool) -> None:
        self.ctx_spin.setValue(estimate.padded_context(s.n_ctx or self.ctx_spin.maximum()))
        self.gpu_spin.setValue(max(0, s.n_gpu_layers if s.n_gpu_layers >= 0
                                   else self.gpu_spin.maximum()))
        self.gpu_auto.setChecked(auto_gpu)
        self.gpu_spin.setEnabled(not auto_gpu)
        self.threads.setValue(s.n_threads or 0)
        self.batch.setCurrentIndex(max(0, self.batch.findData(s.n_batch)))
        self.parallel.setValue(s.parallel)
        self.kv_type.setCurrentIndex(max(0, self.kv_type.findData(s.kv_cache_type)))
        self.flash.setChecked(s.flash_attn)
        self.mmap.setChecked(s.use_mmap)
        self.mlock.setChecked(s.use_mlock)
        self.update_prediction()

    def load_settings(self) -> LoadSettings:
        return LoadSettings(
            n_ctx=self.ctx_spin.value(), n_threads=self.threads.value() or None,
            n_gpu_layers=self.gpu_spin.value(), flash_attn=self.flash.isChecked(),
            kv_cache_type=str(self.kv_type.currentData()), use_mmap=self.mmap.isChecked(),
            use_mlock=self.mlock.isChecked(), n_batch=int(self.batch.currentData()),
            parallel=self.parallel.value())

    @property
    def override(self) -> bool:
        return self.override_box.isChecked()

    def _ctx_spin_changed(self, value: int) -> None:
        self.ctx_slider.blockSignals(True)
        self.ctx_slider.setValue(max(1, round(value / estimate.CTX_PAD)))
        self.ctx_slider.blockSignals(False)
        self.update_prediction()

    def _auto_toggled(self, on: bool) -> None:
        self.gpu_spin.setEnabled(not on)
        self.update_prediction()

    def _got_hw(self, hw: probe.HardwareInfo) -> None:
        self._hw = hw
        self.update_prediction()

    def _got_settings(self, settings: Settings) -> None:
        self._settings = settings
        if self._name in settings.load:
            auto = bool(settings.ui.get(AUTO_KEY, {}).get(self._name, False))
            self.apply(settings.load[self._name], auto_gpu=auto)

    def _reclaim(self) -> int:
        loaded = self._bridge.ctx.engine.loaded
        if loaded is None:
            return 0
        return estimate.for_settings(loaded.meta, loaded.n_ctx, loaded.settings).ram_bytes

    def update_prediction(self) -> None:
        s = self.load_settings()
        auto_note = ""
        if self.gpu_auto.isChecked():
            auto = offload.resolve(offload.AUTO, self._meta, s, self._hw,
                                   reclaim_bytes=self._reclaim())
            self.gpu_spin.blockSignals(True)
            self.gpu_spin.setValue(max(0, auto.n_gpu_layers))
            self.gpu_spin.blockSignals(False)
            s.n_gpu_layers = auto.n_gpu_layers
            auto_note = f"<br>{html.escape(auto.message)}"
        self.check = estimate.check_load(self._meta, s, self._hw, override=self.override,
                                         reclaim_bytes=self._reclaim())
        f = self.check.fit
        e = f.estimate
        colour = status_color("error" if f.verdict == "too_large" else "good")
        self.prediction.setText(
            f"Predicted: weights {_size(e.weights_bytes)} + KV cache {_size(e.kv_cache_bytes)}"
            f" + overhead {_size(e.overhead_bytes)} = <b>{_size(e.total_bytes)}</b>"
            f" (RAM {_size(e.ram_bytes)}, VRAM {_size(e.vram_bytes)})<br>"
            f"<span style='color:{colour}'>{f.verdict.replace('_', ' ')}: {f.reason}</span>"
            f"<br>Largest context that fits: {f.max_context}{auto_note}")
        self.override_box.setVisible(f.verdict == "too_large")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.check.allowed)
        ok.setToolTip("" if self.check.allowed else f"Refused: {self.check.reason}")

    def _accept(self) -> None:
        if self.check is None or not self.check.allowed:
            return
        chosen, name, auto = self.load_settings(), self._name, self.gpu_auto.isChecked()
        store = self._bridge.ctx.settings

        def save() -> None:
            settings = store.read()
            settings.load[name] = chosen
            autos = settings.ui.setdefault(AUTO_KEY, {})
            if isinstance(autos, dict):
                autos[name] = auto
            store.write(settings)

        self._bridge.submit(save, on_error=lambda m: log.warning("settings not saved: %s", m))
        self.accept()


def open_dialog(bridge: Bridge, model: LocalModel, parent: QWidget,
                on_chosen: Callable[[str, LoadSettings], None]) -> LoadSettingsDialog | None:
    """Open the dialog for ``model`` (window-modal, not blocking); ``on_chosen(name,
    settings)`` runs when the person presses Load. None when its header cannot be read."""
    if model.meta is None:
        return None
    dialog = LoadSettingsDialog(bridge, model.name, model.meta, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    name = model.name
    dialog.accepted.connect(lambda: on_chosen(name, dialog.load_settings()))
    dialog.open()
    return dialog
