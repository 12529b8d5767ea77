"""A window's end is deterministic: its threads are joined at close, garbage is collected on the
GUI thread only, and nothing a worker still holds can reach a deleted window.

These guard the causes of the crashes and "QBasicTimer ... thread" warnings once seen when many
windows were opened and closed in one process (the tests do exactly that).
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from fireside.core.context import AppContext
from fireside.gui.bridge import Bridge
from fireside.gui.lifetime import GuiThreadCollector, dispose
from fireside.gui.main_window import MainWindow


def _live_threads() -> set[str]:
    """Names of Python-visible threads whose OS thread still exists."""
    tasks = set(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
    return {t.name for t in threading.enumerate()
            if tasks is None or str(t.native_id) in tasks}


@pytest.fixture
def collections() -> Iterator[list[str]]:
    """The thread name of every garbage collection that starts while the test runs."""
    seen: list[str] = []

    def record(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(threading.current_thread().name)

    gc.callbacks.append(record)
    yield seen
    gc.callbacks.remove(record)


def test_garbage_is_collected_on_the_gui_thread_only(window: MainWindow, qtbot: QtBot,
                                                     wait_idle: Any,
                                                     collections: list[str]) -> None:
    assert not gc.isenabled()  # automatic collection is off while a bridge is open
    window.chat.settings.max_tokens.setValue(120)
    window.chat.send("Tell me about rivers.")  # allocates in the engine and store threads
    window.show_view("hardware")  # samples on the task pool
    for _ in range(20):  # cycles made on purpose, to give the collector something to do
        a: list[object] = []
        a.append(a)
    wait_idle(window)
    qtbot.waitUntil(lambda: len(collections) > 0, timeout=5_000)
    assert set(collections) == {threading.main_thread().name}


def test_closing_a_window_ends_every_thread_it_started(make_window: Any,
                                                       installed_starter: Path,
                                                       qtbot: QtBot) -> None:
    before = _live_threads()
    win: MainWindow = make_window()
    win.show_view("downloads")  # the download queue's threads
    qtbot.waitUntil(lambda: win.chat.settings.current_model() != "", timeout=10_000)
    assert _live_threads() - before  # the window did start threads
    engine = win.bridge.ctx.engine
    listeners = len(engine._listeners)
    assert listeners >= 2  # hardware and server views follow loads
    win.close()
    assert _live_threads() - before == set()
    assert not engine._listeners  # all detached: nothing can call into the closed window
    assert gc.isenabled()


def test_late_callbacks_never_reach_a_closed_bridge(app_ctx: AppContext, qtbot: QtBot) -> None:
    bridge = Bridge(app_ctx)
    label = QLabel()
    qtbot.addWidget(label)
    relayed = bridge.relay(label.setText)
    started, release = threading.Event(), threading.Event()
    results: list[object] = []

    def slow() -> str:
        started.set()
        release.wait(5)
        return "late"

    bridge.submit(slow, on_done=results.append)
    assert started.wait(5)
    release.set()
    bridge.shutdown()  # waits for the running task; its result is dropped
    relayed("too late")  # a listener left on a core object, called after shutdown
    dispose(bridge)
    qtbot.wait(50)
    assert results == [] and label.text() == ""
    assert not shiboken6.isValid(bridge)


def test_a_callback_for_a_deleted_widget_is_dropped(app_ctx: AppContext, qtbot: QtBot,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    bridge = Bridge(app_ctx)
    label = QLabel()
    done = threading.Event()
    bridge.submit(lambda: done.wait(5) and "result", on_done=label.setText)
    dispose(label)  # the dialog closed before the work came back
    done.set()
    qtbot.waitUntil(lambda: not bridge._invoker.pending, timeout=5_000)  # settled
    bridge.shutdown()
    dispose(bridge)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_collector_counts_its_holders() -> None:
    first, second = GuiThreadCollector(), GuiThreadCollector()
    try:
        first.start()
        second.start()
        first.stop()
        assert not gc.isenabled()
        second.stop()
        assert gc.isenabled()
    finally:
        first.stop()
        second.stop()
        dispose(first, second)
