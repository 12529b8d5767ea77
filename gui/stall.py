"""Measures how long the GUI event loop goes without running (the "freeze" a person feels).

A 5 ms timer on the GUI thread notes when it actually fires; the longest gap beyond its interval
is the worst stall. Used by the latency test and ``bench/gui_latency.py``.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Slot

INTERVAL_MS = 5


class StallMeter(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.gaps: list[float] = []

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(max(0.0, (now - self._last) * 1000 - INTERVAL_MS))
        self._last = now

    @property
    def worst_ms(self) -> float:
        return max(self.gaps, default=0.0)

    def percentile_ms(self, q: float) -> float:
        if not self.gaps:
            return 0.0
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
