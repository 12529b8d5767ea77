"""A real window on a fresh FIRESIDE_HOME with the real starter model installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from pytestqt.qtbot import QtBot

from fireside.core import context
from fireside.gui import theme
from fireside.gui.lifetime import dispose
from fireside.gui.main_window import MainWindow

REPLY_TIMEOUT_MS = 60_000


@pytest.fixture
def make_window(qtbot: QtBot, qapp: object) -> Iterator[object]:
    """Build windows on the current FIRESIDE_HOME; each is shut down at the end."""
    from fireside.gui.app import create_window

    theme.apply(qapp)  # type: ignore[arg-type]
    made: list[MainWindow] = []

    def build() -> MainWindow:
        window = create_window(context.build())
        qtbot.addWidget(window)
        window.show()
        made.append(window)
        return window

    yield build
    # Deterministic end: threads joined (close → shutdown), then the windows deleted and the
    # garbage collected here on the GUI thread, and the model freed, before the next test.
    engines = [window.bridge.ctx.engine for window in made]
    for window in made:
        if shiboken6.isValid(window):
            window.close()
    dispose(*made)
    made.clear()
    for engine in engines:
        engine.unload()


@pytest.fixture
def window(make_window: object, installed_starter: Path, qtbot: QtBot) -> MainWindow:
    """A window whose chat has the starter model picked and short, deterministic replies."""
    win: MainWindow = make_window()  # type: ignore[operator]
    chat = win.chat
    qtbot.waitUntil(lambda: chat.settings.current_model() != "", timeout=10_000)
    chat.settings.max_tokens.setValue(40)
    chat.settings.temperature.setValue(0.0)
    chat.settings.seed.setValue(7)
    return win


@pytest.fixture
def wait_idle(qtbot: QtBot) -> object:
    """``wait_idle(win)``: until the reply in flight has ended one way or another."""

    def wait(win: MainWindow, timeout: int = REPLY_TIMEOUT_MS) -> None:
        qtbot.waitUntil(lambda: win.chat.reply is None, timeout=timeout)

    return wait
