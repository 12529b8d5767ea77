"""Every setting is reachable from the window, found the way a screen reader (or a person
reading labels) finds it: by accessible name.

Seen before: nothing opened the Load settings dialog, a failed load said "Failed to create
llama_context" while llama.cpp's log held the cause, there was no Settings page, no menus, and
the shortcuts were shown nowhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from fireside.core import context
from fireside.core.inference.types import LoadSettings
from fireside.gui import theme
from fireside.gui.main_window import MainWindow
from fireside.gui.views.load_dialog import LoadSettingsDialog
from fireside.gui.views.shortcut_sheet import ShortcutSheet

W = TypeVar("W", bound=QWidget)
LOAD_MS = 60_000
HUGE_CONTEXT = 20_000_000  # ~440 GB of KV cache for the starter: no machine here has it


def by_name(root: QWidget, cls: type[W], name: str) -> W:
    """The one ``cls`` under ``root`` whose accessible name is ``name``."""
    found = [w for w in root.findChildren(cls) if w.accessibleName() == name]
    assert len(found) == 1, f"{len(found)} {cls.__name__} named {name!r}"
    return found[0]


def _loaded(win: MainWindow, qtbot: QtBot) -> str:
    """The starter, picked in the chat and loaded."""
    name = win.chat.settings.current_model()
    with qtbot.waitSignal(win.bridge.model_loaded, timeout=LOAD_MS):
        win.chat.choose_model(name)
    return name


def _dialog(win: MainWindow, qtbot: QtBot) -> LoadSettingsDialog:
    qtbot.waitUntil(lambda: any(d.isVisible() for d in win.findChildren(LoadSettingsDialog)),
                    timeout=10_000)
    return next(d for d in win.findChildren(LoadSettingsDialog) if d.isVisible())


@pytest.fixture
def reset_theme(qapp: QApplication) -> Any:
    yield
    theme.set_preference(qapp, "system")  # later tests set FIRESIDE_THEME and expect it


def test_load_settings_beside_the_model_picker_loads_with_them(window: MainWindow,
                                                               qtbot: QtBot) -> None:
    name = _loaded(window, qtbot)
    qtbot.mouseClick(by_name(window, QAbstractButton, "Load settings"),
                     Qt.MouseButton.LeftButton)
    dialog = _dialog(window, qtbot)
    assert dialog.accessibleName() == f"Load settings for {name}"
    by_name(dialog, QWidget, "Context length in tokens").setValue(1024)  # type: ignore[attr-defined]
    by_name(dialog, QWidget, "Parallel requests").setValue(1)  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.bridge.model_loaded, timeout=LOAD_MS) as loaded:
        qtbot.mouseClick(by_name(dialog, QAbstractButton, "Load"), Qt.MouseButton.LeftButton)
    assert loaded.args[1].n_ctx == 1024 and loaded.args[1].name == name
    store = window.bridge.ctx.settings
    qtbot.waitUntil(lambda: store.read().load_settings_for(name).n_ctx == 1024, timeout=5_000)


def test_a_failed_load_says_llamas_reason_and_offers_the_settings(window: MainWindow,
                                                                  qtbot: QtBot) -> None:
    name = _loaded(window, qtbot)
    store = window.bridge.ctx.settings
    store.update(lambda s: s.load.__setitem__(name, LoadSettings(n_ctx=HUGE_CONTEXT)))
    with qtbot.waitSignal(window.bridge.load_failed, timeout=LOAD_MS):
        window.chat.models.load(name)
    banner = by_name(window, QWidget, "Error text")
    text = banner.text()  # type: ignore[attr-defined]
    assert "failed to allocate buffer for kv cache" in text, text
    assert "insufficient memory" in text
    assert "Failed to create llama_context" not in text  # what it said before
    offer = by_name(window, QAbstractButton, "Change load settings")
    assert offer.isVisible()
    qtbot.mouseClick(offer, Qt.MouseButton.LeftButton)
    assert _dialog(window, qtbot).accessibleName() == f"Load settings for {name}"


def test_settings_in_the_navigation_and_the_theme_is_kept(make_window: Any,
                                                          installed_starter: Path,
                                                          qtbot: QtBot, qapp: QApplication,
                                                          reset_theme: Any) -> None:
    win: MainWindow = make_window()
    nav = win.nav
    items = [nav.item(i) for i in range(nav.count())]
    entry = next(i for i in items if i.data(Qt.ItemDataRole.AccessibleTextRole) == "Settings")
    nav.setCurrentItem(entry)
    assert win.pages.currentWidget() is win.settings_page
    picker = by_name(win, QComboBox, "Theme")
    qtbot.waitUntil(lambda: win.settings_page.loaded, timeout=5_000)
    assert picker.currentData() == "system"  # the default: follow the OS
    picker.setCurrentIndex(picker.findData("dark"))
    assert theme.current().dark and qapp.palette().window().color().lightness() < 80
    picker.setCurrentIndex(picker.findData("light"))
    assert not theme.current().dark and qapp.palette().window().color().lightness() > 200
    picker.setCurrentIndex(picker.findData("dark"))
    settings_file = win.bridge.ctx.paths.settings_file
    qtbot.waitUntil(lambda: settings_file.exists() and json.loads(
        settings_file.read_text()).get("ui", {}).get("theme") == "dark", timeout=5_000)
    win.close()
    theme.set_preference(qapp, "system")
    again: MainWindow = make_window()  # the choice survives a restart
    assert theme.preference() == "dark" and theme.current().dark
    again_picker = by_name(again, QComboBox, "Theme")
    qtbot.waitUntil(lambda: again.settings_page.loaded, timeout=5_000)
    assert again_picker.currentData() == "dark"
    hints = QGuiApplication.styleHints()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)  # the OS switches: a choice stays
    assert theme.current().dark
    again_picker.setCurrentIndex(again_picker.findData("system"))
    assert theme.current().dark == (hints.colorScheme() == Qt.ColorScheme.Dark)


def test_the_default_port_in_settings_reaches_the_server_page(make_window: Any,
                                                              installed_starter: Path,
                                                              qtbot: QtBot) -> None:
    win: MainWindow = make_window()
    win.show_view("settings")
    qtbot.waitUntil(lambda: win.settings_page.loaded, timeout=5_000)
    spin = by_name(win, QWidget, "Default server port")
    spin.setValue(18_123)  # type: ignore[attr-defined]
    server = win.views["server"]
    qtbot.waitUntil(lambda: server.port.value() != 8080, timeout=5_000)  # type: ignore[attr-defined]
    store = win.bridge.ctx.settings
    qtbot.waitUntil(lambda: store.read().server.port == 18_123, timeout=5_000)


def test_hub_token_is_set_and_cleared_in_the_secret_store(make_window: Any,
                                                          installed_starter: Path,
                                                          qtbot: QtBot) -> None:
    win: MainWindow = make_window()
    win.show_view("settings")
    field = by_name(win, QLineEdit, "Hub token")
    state = by_name(win, QWidget, "Hub token state")
    qtbot.waitUntil(lambda: "No token set" in state.text(), timeout=5_000)  # type: ignore[attr-defined]
    assert "only you can read" in state.text()  # type: ignore[attr-defined]
    assert field.echoMode() == QLineEdit.EchoMode.Password
    field.setText("hf_test_token_123")
    qtbot.mouseClick(by_name(win, QAbstractButton, "Save Hub token"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "A token is set" in state.text(), timeout=5_000)  # type: ignore[attr-defined]
    ctx = context.build()
    assert ctx.settings.read().hub.token == "hf_test_token_123"
    assert "hf_test_token_123" not in ctx.paths.settings_file.read_text()
    assert "hf_test_token_123" in ctx.settings.secrets.file.read_text()
    qtbot.mouseClick(by_name(win, QAbstractButton, "Clear Hub token"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "No token set" in state.text(), timeout=5_000)  # type: ignore[attr-defined]
    assert context.build().settings.read().hub.token == ""
    assert field.text() == ""


def test_menus_reach_every_page_and_the_shortcut_sheet_lists_them(window: MainWindow,
                                                                  qtbot: QtBot) -> None:
    menus = [m.title().replace("&", "") for m in window.menus()]
    assert menus == ["File", "View", "Model", "Help"]
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    assert window.current_view == "settings"
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.current_view == "my_models"
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.current_view == "chat"  # File → New conversation, from any page
    window.menu_actions["shortcuts"].trigger()
    sheet = next(s for s in window.findChildren(ShortcutSheet) if s.isVisible())
    rows = sheet.rows()
    assert ("View", "Settings", "Ctrl+7") in rows
    assert ("File", "New conversation", "Ctrl+N") in rows
    assert ("Model", "Load settings", "Ctrl+L") in rows
    assert any(group == "Chat" and keys == "Ctrl+F" for group, _what, keys in rows)
    sheet.close()


INTERACTIVE = ("QAbstractButton", "QLineEdit", "QComboBox", "QAbstractSpinBox",
               "QAbstractItemView", "QAbstractSlider", "QPlainTextEdit", "QTextEdit")
# Parts Qt builds inside its own widgets (a combo's popup, a spin box's line edit, a table's
# corner button, a header): they carry their owner's name to assistive technology.
INTERNAL_OWNERS = ("QComboBox", "QAbstractSpinBox", "QTabBar", "QScrollBar", "QLineEdit")


def _is(widget: QWidget, names: tuple[str, ...]) -> bool:
    return any(cls.__name__ in names for cls in type(widget).__mro__)


def unnamed(root: QWidget) -> list[str]:
    """Interactive widgets under ``root`` with no accessible name."""
    bad = []
    for w in root.findChildren(QWidget):
        if not _is(w, INTERACTIVE) or _is(w, ("QHeaderView", "QScrollBar")):
            continue
        if w.objectName().startswith("qt_"):
            continue
        owner = w.parentWidget()
        inside = False
        while owner is not None and owner is not root:
            if _is(owner, INTERNAL_OWNERS) or type(owner).__name__ == "QComboBoxPrivateContainer":
                inside = True
                break
            owner = owner.parentWidget()
        corner = type(w) is QAbstractButton and _is(w.parentWidget(), ("QAbstractItemView",))
        if inside or corner:  # Qt's private QTableCornerButton: "select all", no text
            continue
        if not w.accessibleName():
            bad.append(f"{type(w).__name__} {w.objectName()!r} in "
                       f"{w.parentWidget().objectName() if w.parentWidget() else '?'}")
    return bad


def test_every_interactive_widget_has_an_accessible_name(window: MainWindow,
                                                         qtbot: QtBot) -> None:
    _loaded(window, qtbot)
    window.open_load_settings()
    _dialog(window, qtbot)
    window.menu_actions["shortcuts"].trigger()
    qtbot.waitUntil(lambda: any(s.isVisible() for s in window.findChildren(ShortcutSheet)),
                    timeout=5_000)
    missing = unnamed(window)  # every page, the dialog and the sheet (children of the window)
    assert not missing, "no accessible name:\n" + "\n".join(missing)


def test_the_gated_repo_notice_names_settings_and_every_glyph_renders(qtbot: QtBot) -> None:
    """It had a lock emoji no installed font draws (a box) before the message."""
    from PySide6.QtGui import QFontMetrics

    from fireside.core.hub.catalog import RepoDetail
    from fireside.core.hub.licenses import verdict
    from fireside.gui.views.repo_page import RepoPage

    page = RepoPage()
    qtbot.addWidget(page)
    page.show_detail(RepoDetail("org/gated-model", "0" * 40, {}, [], True,
                                verdict({}, [], "llama3"), []), "https://huggingface.co")
    notice = by_name(page, QWidget, "Gated repository notice")
    text = notice.text()  # type: ignore[attr-defined]
    assert "Settings → Hub token" in text
    metrics = QFontMetrics(notice.font())
    missing = sorted({c for c in text if not metrics.inFontUcs4(ord(c))})
    assert not missing, f"no glyph for {missing}"


def test_a_message_sent_to_a_model_that_fails_to_load_says_it_was_not_sent(
        window: MainWindow, qtbot: QtBot) -> None:
    name = window.chat.settings.current_model()
    window.bridge.ctx.settings.update(
        lambda s: s.load.__setitem__(name, LoadSettings(n_ctx=HUGE_CONTEXT)))
    with qtbot.waitSignal(window.bridge.load_failed, timeout=LOAD_MS):
        window.chat.send("Hello?")
    qtbot.waitUntil(lambda: window.chat.reply is None, timeout=5_000)
    status = window.chat.status.text()
    assert "Waiting for the model" not in status  # what it kept saying before
    assert "Not sent" in status
