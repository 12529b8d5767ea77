"""The window's menu bar: every page and every app-wide action, each with its shortcut.

File (New conversation, Import model…, Settings, Quit), View (one entry per page, Ctrl+1…N),
Model (Load settings…, Unload), Help (Keyboard shortcuts, About). The actions belong to the
window, so their shortcuts work on every page; the shortcut sheet
(:mod:`fireside.gui.views.shortcut_sheet`) is built from these same actions, so it can never
list a shortcut that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

Shortcut = QKeySequence | QKeySequence.StandardKey | str | None


@dataclass
class MenuHandlers:
    """What the window does for each entry (the window is the composition root's)."""

    new_conversation: Callable[[], None]
    import_model: Callable[[], None]
    settings: Callable[[], None]
    quit: Callable[[], None]
    show_view: Callable[[str], None]
    load_settings: Callable[[], None]
    unload: Callable[[], None]
    shortcuts: Callable[[], None]
    about: Callable[[], None]


def _action(window: QMainWindow, menu: QMenu, text: str, name: str,
            slot: Callable[[], None], shortcut: Shortcut = None) -> QAction:
    action = QAction(text, window)
    action.setObjectName(name)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    window.addAction(action)  # its shortcut works even while the menu bar is hidden
    return action


def build(window: QMainWindow, pages: list[tuple[str, str]],
          on: MenuHandlers) -> tuple[dict[str, QAction], list[QMenu]]:
    """Add the menus to ``window``; returns the actions by name and the menus in order."""
    bar = window.menuBar()
    bar.setObjectName("menuBar")
    bar.setAccessibleName("Menu bar")
    made: dict[str, QAction] = {}
    menus: list[QMenu] = []

    def menu(title: str, name: str) -> QMenu:
        m = bar.addMenu(title)
        m.setObjectName(name)
        m.setAccessibleName(title.replace("&", ""))
        menus.append(m)
        return m

    file = menu("&File", "fileMenu")
    made["new"] = _action(window, file, "&New conversation", "actionNewConversation",
                          on.new_conversation, QKeySequence.StandardKey.New)
    made["import"] = _action(window, file, "&Import model…", "actionImportModel",
                             on.import_model, QKeySequence.StandardKey.Open)
    file.addSeparator()
    made["settings"] = _action(window, file, "&Settings", "actionSettings", on.settings,
                               "Ctrl+,")
    file.addSeparator()
    made["quit"] = _action(window, file, "&Quit", "actionQuit", on.quit,
                           QKeySequence.StandardKey.Quit)

    view = menu("&View", "viewMenu")
    for i, (key, title) in enumerate(pages):
        shortcut = f"Ctrl+{i + 1}" if i < 9 else None
        made[f"view_{key}"] = _action(window, view, title, f"actionView_{key}",
                                      partial(on.show_view, key), shortcut)

    model = menu("&Model", "modelMenu")
    made["load_settings"] = _action(window, model, "&Load settings…", "actionLoadSettings",
                                    on.load_settings, "Ctrl+L")
    made["unload"] = _action(window, model, "&Unload model", "actionUnloadModel", on.unload)

    help_menu = menu("&Help", "helpMenu")
    made["shortcuts"] = _action(window, help_menu, "&Keyboard shortcuts", "actionShortcuts",
                                on.shortcuts, "Ctrl+/")
    made["about"] = _action(window, help_menu, "&About Fireside", "actionAbout", on.about)
    return made, menus
