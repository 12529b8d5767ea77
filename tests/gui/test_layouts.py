"""Every view at 800×560, 1280×800 and 1920×1080, light and dark: nothing past the window's
edge, nothing wider than the scroll area that clips it. Screenshots go to
``$FIRESIDE_SCREENSHOTS`` when set (look at them), else to the test's temp dir."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget
from pytestqt.qtbot import QtBot

from fireside.core import context
from fireside.core.store import Message, Store, new_id
from fireside.gui import theme
from fireside.gui.main_window import MainWindow

from .long_chat import seed

SIZES = [(800, 560), (1280, 800), (1920, 1080)]
LONG_FOOTER_STATS = {"decode_tokens_per_s": 97.3, "ttft_s": 0.41, "completion_tokens": 212,
                     "dropped_messages": 954}


def _clipping_area(widget: QWidget, window: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        grand = parent.parentWidget()
        if isinstance(grand, QAbstractScrollArea) and parent is grand.viewport():
            return grand
        parent = grand
    return None


def overflows(window: QWidget) -> list[str]:
    """Visible widgets that reach past the window, or past the scroll area clipping them."""
    bad = []
    for w in window.findChildren(QWidget):
        if not w.isVisibleTo(window) or w.isWindow() or w.width() <= 1:
            continue
        area = _clipping_area(w, window)
        if area is not None:
            if area.horizontalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff:
                continue  # it scrolls sideways by design
            if not area.isVisibleTo(window):
                continue
            right = w.mapTo(area.viewport(), QPoint(w.width(), 0)).x()
            if right > area.viewport().width() + 1:
                bad.append(f"{w.objectName() or type(w).__name__} right={right} > viewport "
                           f"{area.viewport().width()} of {area.objectName()}")
            continue
        corner = w.mapTo(window, QPoint(w.width(), w.height()))
        if corner.x() > window.width() + 1 or corner.y() > window.height() + 1:
            bad.append(f"{w.objectName() or type(w).__name__} ends at {corner.x()},{corner.y()}"
                       f" in a {window.width()}x{window.height()} window")
    return bad


def _seed_with_a_stopped_reply() -> None:
    database = context.build().paths.database
    conv_id = seed(database, 6)
    store = Store(database)
    try:
        store.add_message(Message(new_id(), conv_id, 6, "user", "Tell me a long story."))
        store.add_message(Message(
            new_id(), conv_id, 7, "assistant",
            "Once upon a time `a_very_long_identifier_without_any_spaces_at_all_"
            "that_keeps_going_and_going_past_the_edge_of_any_reasonable_window` …",
            stats=LONG_FOOTER_STATS, finish_reason="cancelled"))
    finally:
        store.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_view_fits_every_size(scheme: str, make_window: Any, installed_starter: Path,
                                    qtbot: QtBot, qapp: QApplication,
                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIRESIDE_THEME", scheme)
    theme.apply(qapp)
    _seed_with_a_stopped_reply()
    win: MainWindow = make_window()
    qtbot.waitUntil(lambda: len(win.chat.messages) == 8, timeout=20_000)
    out = Path(os.environ.get("FIRESIDE_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for width, height in SIZES:
        win.resize(width, height)
        for key in ("chat", "discover", "my_models", "downloads", "server", "hardware",
                    "settings"):
            win.show_view(key)
            qtbot.wait(120)
            assert (win.width(), win.height()) == (width, height), "the window grew"
            problems += [f"{key} {width}x{height} {scheme}: {p}" for p in overflows(win)]
            win.grab().save(str(out / f"{key}-{width}x{height}-{scheme}.png"))
    assert not problems, "\n".join(problems)


def test_settings_become_a_drawer_when_narrow(make_window: Any, installed_starter: Path,
                                              qtbot: QtBot) -> None:
    win: MainWindow = make_window()
    chat = win.chat
    win.resize(1280, 800)
    qtbot.wait(50)
    assert chat.settings.isVisible() and not chat.header.toggle.isVisible()
    win.resize(900, 600)
    qtbot.waitUntil(chat.header.toggle.isVisible, timeout=2_000)
    assert not chat.settings.isVisible()
    assert chat.composer.input.width() > 300  # the message box keeps room to type
    qtbot.mouseClick(chat.header.toggle, Qt.MouseButton.LeftButton)
    assert chat.settings.isVisible()
    assert chat.settings.geometry().right() <= chat.width()
    win.resize(1280, 800)
    qtbot.waitUntil(lambda: not chat.header.toggle.isVisible(), timeout=2_000)
    assert chat.settings.isVisible()


def test_pane_widths_stay_put_when_a_reply_ends(window: MainWindow, qtbot: QtBot,
                                                wait_idle: Any) -> None:
    chat = window.chat
    window.resize(1280, 800)
    qtbot.wait(50)
    before = chat.split.sizes()
    chat.settings.max_tokens.setValue(300)
    chat.send("Write a long story about a lighthouse.")
    qtbot.waitUntil(lambda: chat.reply is not None and len(chat.reply.text) > 30, timeout=60_000)
    chat.stop()
    wait_idle(window)
    qtbot.wait(50)
    assert chat.split.sizes() == before
    assert "stopped" in chat.stats.text()
