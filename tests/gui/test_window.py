"""The window around the chat: responsiveness while streaming, first run, remembered state,
views mounted or replaced by a placeholder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fireside.gui.main_window import VIEWS, MainWindow
from fireside.gui.stall import StallMeter

STALL_BOUND_MS = 250  # generous: catches a regression (e.g. re-rendering the whole transcript)


def test_event_loop_keeps_running_while_a_reply_streams(window: MainWindow, qtbot: QtBot,
                                                         wait_idle: Any) -> None:
    chat = window.chat
    chat.settings.max_tokens.setValue(200)
    chat.send("Write a short poem about the sea, then explain it with a code example.")
    qtbot.waitUntil(lambda: chat.reply is not None and chat.reply.text != "", timeout=60_000)
    meter = StallMeter()
    meter.start()
    wait_idle(window)
    meter.stop()
    assert len(meter.gaps) > 20  # the meter really ran during the reply
    assert meter.worst_ms < STALL_BOUND_MS, f"worst stall {meter.worst_ms:.0f} ms"


def test_first_run_welcome_gets_the_starter(make_window: Any, starter_file: Path,
                                            qtbot: QtBot) -> None:
    win: MainWindow = make_window()
    qtbot.waitUntil(lambda: win.chat_stack.currentWidget() is win.welcome, timeout=10_000)
    qtbot.mouseClick(win.welcome.get, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.chat_stack.currentWidget() is win.chat, timeout=120_000)
    qtbot.waitUntil(lambda: win.chat.settings.current_model() != "", timeout=30_000)
    assert win.bridge.ctx.library.get("starter").name == win.chat.settings.current_model()


def test_geometry_and_last_view_are_remembered(make_window: Any, installed_starter: Path,
                                               qtbot: QtBot) -> None:
    win: MainWindow = make_window()
    win.resize(1000, 700)
    win.show_view("hardware")
    win.close()
    again: MainWindow = make_window()
    assert again.current_view == "hardware"
    assert (again.width(), again.height()) == (1000, 700)


def test_every_view_is_mounted_or_explained(window: MainWindow) -> None:
    assert window.nav.count() == 2 + len(VIEWS)  # Chat first, Settings last
    titles = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert titles == ["Chat", "Discover", "My Models", "Downloads", "Server", "Hardware",
                      "Settings"]
    for key, _title, _module, _cls in VIEWS:
        view = window.views[key]
        assert view.objectName() and view.accessibleName()


def test_discovers_open_chats_with_the_installed_model(window: MainWindow, qtbot: QtBot) -> None:
    window.show_view("discover")
    name = window.chat.settings.current_model()
    window.views["discover"].open_model_requested.emit(name)  # type: ignore[attr-defined]
    assert window.current_view == "chat"
    qtbot.waitUntil(lambda: window.bridge.ctx.engine.loaded is not None, timeout=30_000)
    assert window.chat.settings.current_model() == name
