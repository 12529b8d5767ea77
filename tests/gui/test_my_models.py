"""My Models: its actions (buttons, context menu, double-click, Delete key), delete with Undo,
a selection that stays put, and a list that follows the library wherever it changes.

Seen before: after a delete the selection slid onto the next model (alpha deleted → beta
selected), so a second Delete removed a model nobody picked; the list did not refresh when a
download finished; there was no context menu and double-click did nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from corpus.generate import write_model
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtWidgets import QAbstractButton
from pytestqt.qtbot import QtBot

from fireside.core import context
from fireside.core.context import AppContext
from fireside.gui import theme
from fireside.gui.bridge import Bridge
from fireside.gui.library_watch import LibraryWatcher
from fireside.gui.lifetime import dispose
from fireside.gui.main_window import MainWindow
from fireside.gui.views import my_models
from fireside.gui.views.load_dialog import LoadSettingsDialog
from fireside.gui.views.my_models import MyModelsView

from .test_reachable import by_name

WAIT = 20_000
NAMES = ("alpha", "beta", "gamma")


@pytest.fixture
def view(qtbot: QtBot, app_ctx: AppContext, qapp: object) -> Iterator[MyModelsView]:
    for name in NAMES:
        write_model(app_ctx.library.models_dir / f"{name}.gguf")
    theme.apply(qapp)  # type: ignore[arg-type]
    bridge = Bridge(app_ctx)
    watcher = LibraryWatcher(app_ctx.library.index_file, app_ctx.library.models_dir)
    widget = MyModelsView(bridge, watcher)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.table.rowCount() == 3, timeout=WAIT)
    yield widget
    widget.shutdown()
    bridge.shutdown()
    dispose(widget, bridge, watcher)


def _rows(view: MyModelsView) -> list[str]:
    return [view.table.item(r, 0).text() for r in range(view.table.rowCount())]


def _listed() -> list[str]:
    return [m.name for m in context.build().library.list()]


def test_delete_takes_the_row_away_and_undo_brings_it_back(view: MyModelsView,
                                                           qtbot: QtBot) -> None:
    view.select("alpha")
    path = next(m.path for m in view.models if m.name == "alpha")
    qtbot.mouseClick(by_name(view, QAbstractButton, "Delete model"), Qt.MouseButton.LeftButton)
    assert _rows(view) == ["beta", "gamma"]
    assert view.selected_name() is None  # not beta: the selection never slides on
    assert not view.delete_btn.isEnabled()
    view.delete_selected()  # a second Delete has nothing to delete
    assert _rows(view) == ["beta", "gamma"]
    assert view.undo_bar.isVisible() and "alpha" in view.undo_bar.label.text()
    assert path.exists() and "alpha" in _listed()  # nothing removed yet
    qtbot.mouseClick(by_name(view, QAbstractButton, "Undo"), Qt.MouseButton.LeftButton)
    assert _rows(view) == list(NAMES)
    assert view.selected_name() == "alpha"
    assert path.exists() and not view.undo_bar.isVisible()


def test_the_file_goes_when_the_undo_window_passes(view: MyModelsView, qtbot: QtBot) -> None:
    view.undo_bar._timer.setInterval(300)
    view.select("beta")
    path = next(m.path for m in view.models if m.name == "beta")
    view.delete_selected()
    assert path.exists()
    qtbot.waitUntil(lambda: not path.exists(), timeout=WAIT)
    qtbot.waitUntil(lambda: _rows(view) == ["alpha", "gamma"], timeout=WAIT)
    assert _listed() == ["alpha", "gamma"]
    assert view.selected_name() is None


def test_quitting_inside_the_undo_window_deletes_then(view: MyModelsView) -> None:
    view.select("gamma")
    path = next(m.path for m in view.models if m.name == "gamma")
    view.delete_selected()
    view.shutdown()  # what the window does on quit
    assert not path.exists() and "gamma" not in _listed()


def test_a_second_delete_finishes_the_first(view: MyModelsView, qtbot: QtBot) -> None:
    view.select("alpha")
    view.delete_selected()
    view.select("beta")
    view.delete_selected()  # alpha is deleted for real now; beta waits for its Undo
    qtbot.waitUntil(lambda: "alpha" not in _listed(), timeout=WAIT)
    view.undo_bar.undo.click()
    qtbot.waitUntil(lambda: _rows(view) == ["beta", "gamma"], timeout=WAIT)
    assert "beta" in _listed()


def test_the_list_follows_changes_made_elsewhere_and_keeps_the_selection(
        view: MyModelsView, qtbot: QtBot, tmp_path: Path) -> None:
    view.select("gamma")
    other = context.build().library  # as `fireside pull` or a download would, elsewhere
    other.import_file(write_model(tmp_path / "aardvark.gguf"))
    qtbot.waitUntil(lambda: "aardvark" in _rows(view), timeout=WAIT)  # no Refresh pressed
    assert _rows(view)[0] == "aardvark" and view.selected_name() == "gamma"
    other.remove("gamma")
    qtbot.waitUntil(lambda: "gamma" not in _rows(view), timeout=WAIT)
    assert view.selected_name() is None  # gone, and nothing else picked in its place


def test_context_menu_and_double_click(view: MyModelsView, qtbot: QtBot,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(my_models.QDesktopServices, "openUrl",
                        lambda url: opened.append(url) or True)
    view.select("beta")
    menu = view.menu_for()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Chat with this", "Load with settings…", "Show in folder", "Delete"]
    with qtbot.waitSignal(view.chat_requested) as chat:
        next(a for a in menu.actions() if a.text() == "Chat with this").trigger()
    assert chat.args == ["beta"]
    with qtbot.waitSignal(view.load_settings_requested) as load:
        next(a for a in menu.actions() if a.text() == "Load with settings…").trigger()
    assert load.args == ["beta"]
    next(a for a in menu.actions() if a.text() == "Show in folder").trigger()
    assert opened and Path(opened[0].toLocalFile()) == view.bridge.ctx.library.models_dir
    menu.close()
    row = _rows(view).index("gamma")
    rect = view.table.visualItemRect(view.table.item(row, 0))
    with qtbot.waitSignal(view.chat_requested) as chat:  # press, release, double-click
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                          pos=rect.center())
    assert chat.args == ["gamma"]
    with qtbot.waitSignal(view.chat_requested) as chat:  # Enter does the same
        view.table.setFocus()
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert chat.args == ["gamma"]
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Delete)
    assert "gamma" not in _rows(view)


def test_my_models_actions_in_the_window(make_window: Any, installed_starter: Path,
                                         qtbot: QtBot) -> None:
    win: MainWindow = make_window()
    page: MyModelsView = win.views["my_models"]  # type: ignore[assignment]
    win.show_view("my_models")
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=WAIT)
    name = _rows(page)[0]
    page.select(name)
    qtbot.mouseClick(by_name(page, QAbstractButton, "Load with settings"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in win.findChildren(LoadSettingsDialog)),
                    timeout=WAIT)
    dialog = next(d for d in win.findChildren(LoadSettingsDialog) if d.isVisible())
    assert dialog.accessibleName() == f"Load settings for {name}"
    dialog.reject()
    qtbot.mouseClick(by_name(page, QAbstractButton, "Chat with this"),
                     Qt.MouseButton.LeftButton)
    assert win.current_view == "chat"
    qtbot.waitUntil(lambda: win.bridge.ctx.engine.loaded is not None, timeout=60_000)
    assert win.chat.settings.current_model() == name
    menu = page.menu_for(QPoint(0, 0))
    assert menu.accessibleName() == "Model actions"
    menu.close()
