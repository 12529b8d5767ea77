"""The load dialog: live prediction, refusal with an explicit override, per-model memory."""

from __future__ import annotations

import dataclasses

from pytestqt.qtbot import QtBot

from fireside.core.inference.types import LoadSettings
from fireside.core.models.meta import ModelMeta
from fireside.gui.bridge import Bridge
from fireside.gui.views.load_dialog import LoadSettingsDialog

from .helpers import machine


def test_prediction_follows_the_slider(bridge: Bridge, qtbot: QtBot,
                                       starter_meta: ModelMeta) -> None:
    dlg = LoadSettingsDialog(bridge, "starter", starter_meta)
    qtbot.addWidget(dlg)
    assert dlg.ctx_spin.maximum() == 8192
    dlg.ctx_slider.setValue(8192 // 256)
    assert dlg.ctx_spin.value() == 8192 and "180 MiB" in dlg.prediction.text()
    dlg.kv_type.setCurrentIndex(dlg.kv_type.findData("q4_0"))
    assert "51 MiB" in dlg.prediction.text()  # 53,084,160 bytes
    assert dlg.check is not None and dlg.check.allowed


def test_refused_then_overridden(bridge: Bridge, qtbot: QtBot,
                                 starter_meta: ModelMeta) -> None:
    dlg = LoadSettingsDialog(bridge, "starter", starter_meta)
    qtbot.addWidget(dlg)
    dlg._got_hw(dataclasses.replace(machine(ram_avail=100 * 2**20), ram_total_bytes=2**33))
    ok = dlg.buttons.buttons()[0]
    assert not ok.isEnabled() and "too large" in dlg.prediction.text()
    assert not dlg.override_box.isHidden()
    dlg.override_box.setChecked(True)
    assert ok.isEnabled() and dlg.check is not None and dlg.check.overridden


def test_settings_are_remembered_per_model(bridge: Bridge, qtbot: QtBot,
                                           starter_meta: ModelMeta) -> None:
    dlg = LoadSettingsDialog(bridge, "starter", starter_meta)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg._settings is not None, timeout=5000)
    dlg.ctx_spin.setValue(3072)
    dlg.mlock.setChecked(True)
    dlg.parallel.setValue(2)
    dlg.buttons.accepted.emit()
    store = bridge.ctx.settings
    qtbot.waitUntil(lambda: "starter" in store.read().load, timeout=5000)
    saved = store.read().load["starter"]
    assert (saved.n_ctx, saved.use_mlock, saved.parallel) == (3072, True, 2)
    again = LoadSettingsDialog(bridge, "starter", starter_meta)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.ctx_spin.value() == 3072, timeout=5000)
    assert again.mlock.isChecked()
    assert again.load_settings() == dataclasses.replace(saved, n_gpu_layers=0)
    other = LoadSettingsDialog(bridge, "other", starter_meta)
    qtbot.addWidget(other)
    qtbot.waitUntil(lambda: other._settings is not None, timeout=5000)
    assert other.load_settings().n_ctx == LoadSettings().n_ctx


def test_auto_gpu_layers_say_what_they_chose(bridge: Bridge, qtbot: QtBot,
                                             starter_meta: ModelMeta) -> None:
    from .helpers import GiB, nvidia

    dlg = LoadSettingsDialog(bridge, "starter", starter_meta)
    qtbot.addWidget(dlg)
    assert dlg.gpu_auto.isChecked()
    dlg._got_hw(machine())  # CPU only
    assert dlg.gpu_spin.value() == 0 and "all layers run on the CPU" in dlg.prediction.text()
    dlg._got_hw(machine(gpus=[nvidia(8 * GiB)]))
    assert dlg.gpu_spin.value() == 31 and "all 31 on the GPU" in dlg.prediction.text()
