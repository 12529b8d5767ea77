"""The conversation list as a Qt item model (titles editable in place to rename).

It holds plain :class:`Conversation` copies; the store is written by the chat view through its
serial queue, never from here.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from fireside.core.store import Conversation

Index = QModelIndex | QPersistentModelIndex
IdRole = Qt.ItemDataRole.UserRole + 1


def when(ts: float, now: float | None = None) -> str:
    now = now or time.time()
    age = now - ts
    if age < 60:
        return "just now"
    if age < 3600:
        return f"{int(age // 60)} min ago"
    if age < 86400:
        return time.strftime("%H:%M", time.localtime(ts))
    return time.strftime("%d %b", time.localtime(ts))


class ConversationListModel(QAbstractListModel):
    renamed = Signal(str, str)  # conversation id, new title

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[Conversation] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        conv = self._items[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole,
                    Qt.ItemDataRole.AccessibleTextRole):
            return conv.title
        if role == Qt.ItemDataRole.ToolTipRole:
            model = f" · {conv.model}" if conv.model else ""
            return f"{conv.title}\n{when(conv.updated)}{model}"
        if role == IdRole:
            return conv.id
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index: Index, value: Any,  # noqa: N802
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = str(value).strip()
        conv = self._items[index.row()]
        if not title or title == conv.title:
            return False
        conv.title = title
        self.dataChanged.emit(index, index)
        self.renamed.emit(conv.id, title)
        return True

    # -- the chat view's edits -----------------------------------------------------------
    def set_items(self, items: list[Conversation]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def items(self) -> list[Conversation]:
        return list(self._items)

    def row_of(self, conv_id: str) -> int:
        for row, conv in enumerate(self._items):
            if conv.id == conv_id:
                return row
        return -1

    def upsert_top(self, conv: Conversation) -> None:
        """Insert or move ``conv`` to the top (most recently used first)."""
        row = self.row_of(conv.id)
        if row == 0:
            self._items[0] = conv
            self.dataChanged.emit(self.index(0), self.index(0))
            return
        if row > 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._items[row]
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._items.insert(0, conv)
        self.endInsertRows()

    def remove(self, conv_id: str) -> Conversation | None:
        row = self.row_of(conv_id)
        if row < 0:
            return None
        self.beginRemoveRows(QModelIndex(), row, row)
        conv = self._items.pop(row)
        self.endRemoveRows()
        return conv
