"""The hardware panel: samples arrive off the GUI thread, the table shows a real load."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from fireside.core.inference.types import LoadSettings
from fireside.gui.bridge import Bridge
from fireside.gui.views.hardware import HardwareView

pytestmark = pytest.mark.slow


def test_samples_and_predicted_vs_measured(bridge: Bridge, qtbot: QtBot,
                                           starter_file: Path) -> None:
    view = HardwareView(bridge)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: len(view._samples) >= 1, timeout=5000)
    assert "RAM" in view.summary.text() and "no GPU" in view.summary.text()
    assert view._no_gpu.isVisible()
    bridge.load_model(starter_file, LoadSettings(n_ctx=2048), name="starter")
    qtbot.waitUntil(lambda: view.table.item(1, 0) is not None, timeout=30000)
    assert view.table.item(1, 0).text() == "45.0 MiB"  # KV predicted
    assert view.table.item(1, 1).text() == "45.0 MiB"  # llama.cpp's own KV buffer
    assert view.table.item(3, 2).text().endswith("MiB")  # measured RSS delta
    assert "starter" in view.model_label.text()
    for w in (view.table, view.cpu_plot, view.summary):
        assert w.objectName() and w.accessibleName()


def test_engine_line_names_the_backend_and_warns_of_an_unused_gpu(bridge: Bridge,
                                                                   qtbot: QtBot) -> None:
    from fireside.core.hardware import probe

    from .helpers import GiB, machine, nvidia

    view = HardwareView(bridge)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: "built for" in view.engine_label.text(), timeout=10000)
    assert "built for <b>CPU</b>" in view.engine_label.text()  # this box: a CPU build
    assert view.engine_label.objectName() and view.engine_label.accessibleName()
    hw = machine(gpus=[nvidia(8 * GiB)], offload=False)
    hw.backends.update(available=True, version="0.3.36", backend="cpu")
    view.show_engine(hw)
    text = view.engine_label.text()
    assert "Test GPU is here" in text and "FIRESIDE_LLAMA_BACKEND=cuda" in text
    assert isinstance(hw, probe.HardwareInfo)
