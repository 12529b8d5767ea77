"""The hardware panel: live CPU/RAM/RSS/VRAM charts and the loaded model's predicted vs measured
memory.

Sampling runs on a worker (``bridge.submit``) once a second so a slow NVML call never stalls
the GUI thread; the charts keep the last five minutes. The table is filled from the
:class:`~fireside.core.hardware.measure.LoadMonitor` this view attaches to the engine, so
construct the view before the first load (the main window does, at start-up).
"""

from __future__ import annotations

import html
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import psutil
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fireside.core.hardware import backend, probe
from fireside.core.hardware.measure import LoadMeasurement, LoadMonitor
from fireside.core.units import human_bytes
from fireside.gui import theme
from fireside.gui.bridge import Bridge
from fireside.gui.status_colors import status_color

log = logging.getLogger("fireside.gui.hardware")
SAMPLE_MS = 1000
HISTORY_S = 300
MiB = 2**20
GiB = 2**30
COLOURS = ("#e8833a", "#4c9be8", "#5cb85c", "#c061cb", "#d9534f")


@dataclass
class Sample:
    t: float
    cpu_percent: float
    ram_used: int
    ram_total: int
    rss: int
    gpus: list[tuple[str, int, int]] = field(default_factory=list)  # name, used, total


def take_sample() -> Sample:
    """Runs on a worker thread. ``cpu_percent(None)`` is the share since the last call."""
    vm = psutil.virtual_memory()
    gpus = [(g.name, g.vram_used_bytes, g.vram_total_bytes)
            for g in probe.nvidia_gpus() + probe.amd_gpus() if not g.unified_memory]
    return Sample(time.monotonic(), psutil.cpu_percent(None), int(vm.total - vm.available),
                  int(vm.total), probe.process_rss(), gpus)


def _mib(n: int | None) -> str:
    if n is None:
        return "—"
    return human_bytes(n, 2 if abs(n) >= GiB else 1)


def _plot(title: str, unit: str, name: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setObjectName(name)
    plot.setAccessibleName(title)
    plot.setBackground(None)
    plot.setTitle(title, size="10pt")
    plot.setLabel("left", unit)
    plot.setLabel("bottom", "seconds ago")
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setXRange(-HISTORY_S, 0, padding=0)
    plot.setMinimumHeight(150)
    return plot


def _curve(plot: pg.PlotWidget, colour: str, name: str | None = None) -> Any:
    fill = pg.mkColor(colour)
    fill.setAlpha(50)
    return plot.plot(pen=pg.mkPen(colour, width=2), fillLevel=0, brush=fill, name=name)


class HardwareView(QWidget):
    """Live charts plus the predicted-vs-measured table for the loaded model."""

    ROWS = ("Weights", "KV cache", "Overhead", "Total")

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hardwareView")
        self.setAccessibleName("Hardware")
        self._bridge = bridge
        self._samples: deque[Sample] = deque(maxlen=HISTORY_S * 1000 // SAMPLE_MS + 1)
        self._pending = False
        psutil.cpu_percent(None)  # prime: the first real sample then covers one interval

        self.summary = QLabel("Sampling…")
        self.summary.setObjectName("hardwareSummary")
        self.summary.setAccessibleName("Hardware summary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.cpu_plot = _plot("CPU", "%", "cpuChart")
        self.cpu_plot.setYRange(0, 100, padding=0)
        self.ram_plot = _plot("System RAM used", "GiB", "ramChart")
        self.rss_plot = _plot("Fireside RSS", "MiB", "rssChart")
        self.vram_plot = _plot("VRAM used per GPU", "GiB", "vramChart")
        self.vram_plot.addLegend(offset=(-10, 10))
        self._cpu_curve = _curve(self.cpu_plot, COLOURS[0])
        self._ram_curve = _curve(self.ram_plot, COLOURS[1])
        self._rss_curve = _curve(self.rss_plot, COLOURS[2])
        self._started = time.monotonic()
        self._vram_curves: dict[str, Any] = {}
        self._no_gpu = pg.TextItem("No GPU found (NVML/amdsmi)", color="#888888",
                                   anchor=(0.5, 0.5))
        self.vram_plot.addItem(self._no_gpu)
        self._no_gpu.setPos(-HISTORY_S / 2, 0.5)
        self.vram_plot.setYRange(0, 1)

        self.engine_label = QLabel("llama.cpp: …")
        self.engine_label.setObjectName("hardwareEngine")
        self.engine_label.setAccessibleName("llama.cpp backend")
        self.engine_label.setWordWrap(True)
        self.engine_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        charts = QGridLayout()
        charts.addWidget(self.cpu_plot, 0, 0)
        charts.addWidget(self.ram_plot, 0, 1)
        charts.addWidget(self.rss_plot, 1, 0)
        charts.addWidget(self.vram_plot, 1, 1)

        self.model_label = QLabel("No model loaded.")
        self.model_label.setObjectName("hardwareModel")
        self.model_label.setAccessibleName("Loaded model memory")
        self.table = QTableWidget(len(self.ROWS) + 1, 3)
        self.table.setObjectName("memoryTable")
        self.table.setAccessibleName("Predicted versus measured memory")
        self.table.setHorizontalHeaderLabels(
            ["Predicted", "llama.cpp buffers (reserved)", "Measured (RSS + VRAM delta)"])
        self.table.setVerticalHeaderLabels([*self.ROWS, "Now (after use)"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(28)
        # the header's height under the style sheet (padded sections), not Fusion's bare one
        self.table.setFixedHeight(28 * (len(self.ROWS) + 1) + 40)

        layout = QVBoxLayout(self)
        theme.page_margins(layout)
        layout.addWidget(self.summary)
        layout.addWidget(self.engine_label)
        layout.addLayout(charts, 1)
        layout.addWidget(self.model_label)
        layout.addWidget(self.table)

        engine = bridge.ctx.engine
        self.monitor = LoadMonitor(engine)
        self.monitor.on_measured(bridge.relay(self.show_measurement))
        self._engine_listener = bridge.relay(self._on_engine_event)
        engine.add_listener(self._engine_listener)
        monitor, listener = self.monitor, self._engine_listener

        def detach() -> None:  # no widget in here: it may run after the view is deleted
            engine.remove_listener(monitor._on_event)
            engine.remove_listener(listener)

        bridge.on_shutdown(detach)

        self._timer = QTimer(self)
        self._timer.setObjectName("hardwareSampler")
        self._timer.setInterval(SAMPLE_MS)
        self._timer.timeout.connect(self.request_sample)
        self._timer.start()
        self.request_sample()
        bridge.submit(probe.probe, on_done=self.show_engine, on_error=self._sample_failed)

    def shutdown(self) -> None:
        """Window closing: stop sampling (the bridge detaches the engine listeners)."""
        self._timer.stop()

    def show_engine(self, hw: probe.HardwareInfo) -> None:
        """Which backend llama.cpp was built with; a warning + the fix when a GPU goes unused."""
        b = hw.backends
        if not b.get("available"):
            self.engine_label.setText(f"llama.cpp unavailable: {b.get('error', '')}")
            return
        text = (f"llama.cpp {b.get('version', '')} built for "
                f"<b>{str(b.get('backend', 'cpu')).upper()}</b> · GPU offload "
                f"{'yes' if b.get('gpu_offload') else 'no'}")
        warning = backend.gpu_warning(hw.gpus, b)
        if warning:
            text += (f"<br><span style='color:{status_color('error')}'>"
                     f"⚠ {html.escape(warning)}</span>")
        self.engine_label.setText(text)

    # -- sampling ------------------------------------------------------------------------
    def request_sample(self) -> None:
        if self._pending or self._bridge.closed:  # a slow probe must not pile up requests
            return
        self._pending = True
        self._bridge.submit(take_sample, on_done=self.add_sample, on_error=self._sample_failed)

    def _sample_failed(self, message: str) -> None:
        self._pending = False
        log.warning("hardware sample failed: %s", message)

    def add_sample(self, sample: Sample) -> None:
        self._pending = False
        self._samples.append(sample)
        now = sample.t
        xs = [s.t - now for s in self._samples]
        # The first minutes zoom in on what there is; then the window slides over HISTORY_S.
        span = max(60.0, min(float(HISTORY_S), now - self._started + 5))
        for plot in (self.cpu_plot, self.ram_plot, self.rss_plot, self.vram_plot):
            plot.setXRange(-span, 0, padding=0)
        self._no_gpu.setPos(-span / 2, 0.5)
        self._cpu_curve.setData(xs, [s.cpu_percent for s in self._samples])
        self._ram_curve.setData(xs, [s.ram_used / GiB for s in self._samples])
        self.ram_plot.setYRange(0, sample.ram_total / GiB, padding=0.02)
        self._rss_curve.setData(xs, [s.rss / MiB for s in self._samples])
        self.rss_plot.setYRange(0, max(s.rss for s in self._samples) / MiB * 1.15, padding=0)
        self._update_vram(xs)
        gpu_text = "  ·  ".join(f"{n}: {_mib(u)} / {_mib(t)}" for n, u, t in sample.gpus)
        self.summary.setText(
            f"CPU {sample.cpu_percent:.0f}%  ·  RAM {_mib(sample.ram_used)} / "
            f"{_mib(sample.ram_total)}  ·  Fireside {_mib(sample.rss)}"
            + (f"  ·  {gpu_text}" if gpu_text else "  ·  no GPU"))
        if self.monitor.last is not None:
            self._set(len(self.ROWS), 2, _mib(self.monitor.rss_delta_now()))

    def _update_vram(self, xs: list[float]) -> None:
        names = [g[0] for g in self._samples[-1].gpus]
        self._no_gpu.setVisible(not names)
        top = 1.0
        for i, name in enumerate(names):
            key = f"{i}: {name}"
            if key not in self._vram_curves:
                self._vram_curves[key] = _curve(self.vram_plot,
                                                COLOURS[(i + 3) % len(COLOURS)], key)
            ys = [s.gpus[i][1] / GiB if i < len(s.gpus) else 0.0 for s in self._samples]
            self._vram_curves[key].setData(xs, ys)
            top = max(top, self._samples[-1].gpus[i][2] / GiB)
        self.vram_plot.setYRange(0, top, padding=0.02)

    # -- the loaded model ----------------------------------------------------------------
    def _on_engine_event(self, event: str, model: Any) -> None:
        if event == "unloaded":
            self.model_label.setText("No model loaded.")
            self.table.clearContents()

    def _set(self, row: int, col: int, text: str) -> None:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, col, item)

    def show_measurement(self, m: LoadMeasurement) -> None:
        p = m.predicted
        buffers = m.llama_buffers
        model_buf = sum(v for k, v in buffers.items() if k.endswith(" model")) or None
        kv_buf = sum(v for k, v in buffers.items() if k.endswith(" KV")) or None
        other_buf = sum(v for k, v in buffers.items()
                        if k.endswith((" compute", " output"))) or None
        total_buf = sum(buffers.values()) or None
        measured_total = m.rss_delta_bytes
        if measured_total is not None:
            measured_total += m.vram_delta_bytes
        s = m.settings
        self.model_label.setText(
            f"<b>{m.model}</b> — context {p['n_ctx']}, KV {p['kv_type']}, "
            f"{p['n_gpu_layers']} GPU layers, batch {s.get('n_batch')}. "
            "Compute buffers are reserved in full by llama.cpp but only touched pages count "
            "in RSS.")
        self.model_label.setWordWrap(True)
        rows = (("weights_bytes", model_buf, None), ("kv_cache_bytes", kv_buf, None),
                ("overhead_bytes", other_buf, None), ("total_bytes", total_buf, measured_total))
        for i, (key, buf, measured) in enumerate(rows):
            self._set(i, 0, _mib(p[key]))
            self._set(i, 1, _mib(buf))
            self._set(i, 2, _mib(measured) if measured is not None else "")
        self._set(len(self.ROWS), 0, "")
        self._set(len(self.ROWS), 1, "")
        total_item = self.table.item(3, 2)
        if total_item is not None:
            total_item.setToolTip("RSS (and VRAM) added by the load, right after it")
        self._set(len(self.ROWS), 2, _mib(self.monitor.rss_delta_now()))
