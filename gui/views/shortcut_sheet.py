"""The keyboard shortcut sheet (Help → Keyboard shortcuts): every shortcut, where it works.

The window's own shortcuts are read from its menu actions, so the sheet stays true when a menu
changes; the few that belong to one pane (send, find, delete) are listed beside them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fireside.gui import theme

# Shortcuts that live in one pane: (where, what, keys); FIND is filled in per platform.
FIND = "find"
PANE_SHORTCUTS: list[tuple[str, str, str]] = [
    ("Chat", "Send the message", "Enter"),
    ("Chat", "New line in the message", "Shift+Enter"),
    ("Chat", "Find in the conversation", FIND),
    ("Chat", "Stop the reply / close Find / cancel an edit", "Esc"),
    ("Chat", "Rename the conversation", "F2"),
    ("Chat", "Delete the conversation (with Undo)", "Del"),
    ("My Models", "Chat with the selected model", "Enter or double-click"),
    ("My Models", "Delete the selected model (with Undo)", "Del"),
]


def _native(keys: QKeySequence) -> str:
    return keys.toString(QKeySequence.SequenceFormat.NativeText)


def _plain(text: str) -> str:
    return text.replace("&", "").rstrip("…").strip()


class ShortcutSheet(QDialog):
    def __init__(self, menus: list[tuple[str, list[QAction]]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutSheet")
        self.setAccessibleName("Keyboard shortcuts")
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(600, 600)
        self.tree = QTreeWidget()
        self.tree.setObjectName("shortcutList")
        self.tree.setAccessibleName("Shortcut list")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Shortcut"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        groups: dict[str, QTreeWidgetItem] = {}

        def group(title: str) -> QTreeWidgetItem:
            if title not in groups:
                item = QTreeWidgetItem([title, ""])
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.tree.addTopLevelItem(item)
                item.setExpanded(True)
                groups[title] = item
            return groups[title]

        for title, actions in menus:
            for action in actions:
                keys = _native(action.shortcut())
                if keys:
                    group(_plain(title)).addChild(QTreeWidgetItem([_plain(action.text()), keys]))
        find = _native(QKeySequence(QKeySequence.StandardKey.Find))
        for where, what, keys in PANE_SHORTCUTS:
            group(where).addChild(QTreeWidgetItem([what, find if keys == FIND else keys]))
        self.tree.expandAll()
        self.tree.setIndentation(12)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("closeShortcuts")
        close.setAccessibleName("Close")
        close.setIcon(QIcon())
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        theme.style_tree(self)  # a window of its own: not under the main window's sheets

    def rows(self) -> list[tuple[str, str, str]]:
        """(group, action, keys) as shown: for tests and the README."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount() if top is not None else 0):
                child = top.child(j) if top is not None else None
                if top is not None and child is not None:
                    out.append((top.text(0), child.text(0), child.text(1)))
        return out
