"""Where Qt objects die: on the GUI thread, never in a worker.

Python's cyclic garbage collector runs in whichever thread happens to allocate when a generation
overflows. When the garbage holds a Python-owned QObject (a closed window, a parentless bridge),
its C++ destructor then runs in that worker: Qt warns ("QBasicTimer can only be used with
threads started with QThread", "Timers cannot be started from another thread"), and a destructor
that needs the GIL while the GUI thread holds it and waits for Qt's signal-slot mutex deadlocks
(seen in the tests: a store thread collecting a closed window while the next window was built).

So while worker threads run (as long as a :class:`~fireside.gui.bridge.Bridge` is open),
automatic collection is off and a GUI-thread timer collects instead: the recipe GitFourchette
and OpenCue's GUI use. :func:`dispose` deletes finished windows explicitly, also on the GUI
thread.
"""

from __future__ import annotations

import gc
import logging

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QTimer, Slot

log = logging.getLogger("fireside.gui.lifetime")
CHECK_MS = 500

# Process-wide, like the collector it switches: how many open collectors keep it off.
_state = {"holders": 0, "was_enabled": True}


def _on_gui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is None or QThread.currentThread() is app.thread()


def collect_due() -> int:
    """Collect the oldest generation over its threshold, as CPython would; -1 when none is."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    due = -1
    for generation in range(3):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            due = generation
    if due >= 0:
        gc.collect(due)
    return due


class GuiThreadCollector(QObject):
    """Turns automatic GC off while started; collects on the GUI thread on a timer."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._active = False
        self._timer = QTimer(self)
        self._timer.setObjectName("guiThreadCollector")
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    @property
    def active(self) -> bool:
        return self._active

    def start(self) -> None:
        if self._active:
            return
        self._active = True
        if _state["holders"] == 0:
            _state["was_enabled"] = gc.isenabled()
            gc.disable()
        _state["holders"] += 1
        self._timer.start()

    def stop(self) -> None:
        """The last one to stop collects what is left, here, and gives GC back to Python."""
        if not self._active:
            return
        self._active = False
        self._timer.stop()
        _state["holders"] -= 1
        if _state["holders"] == 0:
            gc.collect()
            if _state["was_enabled"]:
                gc.enable()

    @Slot()
    def check(self) -> None:
        collect_due()


def settle_heap() -> None:
    """Once the window is up: collect, then move what survived out of the collector's sight.

    A full collection walks every tracked object (about 140,000 with a window and a model):
    48-83 ms on the GUI thread, a visible stall whenever the oldest generation comes due.
    What exists at start-up lives as long as the app, so ``gc.freeze()`` it; garbage made
    later is still collected as before.
    """
    gc.collect()
    gc.freeze()


def dispose(*objects: QObject | None) -> None:
    """Delete ``objects`` (and their children) now, on the GUI thread, then collect here.

    For windows and parentless bridges that are done with (a test's teardown, the end of
    :func:`~fireside.gui.app.run`): afterwards their Python wrappers are empty shells that may
    die in any thread without running a C++ destructor there.
    """
    if not _on_gui_thread():
        raise RuntimeError("dispose() must be called on the GUI thread")
    for obj in objects:
        if obj is not None and shiboken6.isValid(obj):
            obj.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
