"""The conversation list: new, search, rename in place, delete with undo."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fireside.gui import icons
from fireside.gui.models.conversations import ConversationListModel, IdRole

UNDO_MS = 10_000


class ConversationSidebar(QWidget):
    new_requested = Signal()
    selected = Signal(str)  # conversation id
    delete_requested = Signal(str)
    undo_requested = Signal()
    search_changed = Signal(str)

    def __init__(self, model: ConversationListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationSidebar")
        self.setMinimumWidth(200)
        self.setMaximumWidth(320)
        self.model = model
        col = QVBoxLayout(self)
        col.setContentsMargins(10, 12, 6, 10)
        col.setSpacing(8)

        self.new = QPushButton("New conversation")
        icons.put(self.new, "new_chat")
        self.new.setObjectName("newConversation")
        self.new.setAccessibleName("New conversation")
        self.new.setToolTip("New conversation (Ctrl+N)")
        self.new.clicked.connect(self.new_requested)
        col.addWidget(self.new)
        self.search = QLineEdit()
        self.search.setObjectName("conversationSearch")
        self.search.setAccessibleName("Search conversations")
        self.search.setPlaceholderText("Search conversations")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(lambda: self.search_changed.emit(self.search.text()))
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        col.addWidget(self.search)

        self.list = QListView()
        self.list.setObjectName("conversationList")
        self.list.setAccessibleName("Conversations")
        self.list.setModel(model)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setUniformItemSizes(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setWordWrap(False)
        self.list.clicked.connect(self._on_clicked)
        self.list.activated.connect(self._on_clicked)
        col.addWidget(self.list, 1)

        row = QHBoxLayout()
        self.rename = QPushButton("Rename")
        self.rename.setObjectName("renameConversation")
        self.rename.setAccessibleName("Rename conversation")
        self.rename.setToolTip("Rename (F2 or double-click)")
        self.rename.clicked.connect(self._on_rename)
        self.delete = QPushButton("Delete")
        self.delete.setObjectName("deleteConversation")
        self.delete.setAccessibleName("Delete conversation")
        self.delete.setToolTip("Delete (Del); can be undone")
        self.delete.clicked.connect(self._on_delete)
        row.addWidget(self.rename)
        row.addWidget(self.delete)
        col.addLayout(row)

        self.undo_bar = QFrame()
        self.undo_bar.setObjectName("banner")
        undo_row = QHBoxLayout(self.undo_bar)
        undo_row.setContentsMargins(8, 4, 4, 4)
        self.undo_label = QLabel("Conversation deleted")
        self.undo_label.setObjectName("undoText")
        undo_row.addWidget(self.undo_label, 1)
        self.undo = QPushButton("Undo")
        self.undo.setObjectName("undoDelete")
        self.undo.setAccessibleName("Undo delete")
        self.undo.clicked.connect(self._on_undo)
        undo_row.addWidget(self.undo)
        self.undo_bar.setVisible(False)
        col.addWidget(self.undo_bar)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.setInterval(UNDO_MS)
        self._undo_timer.timeout.connect(lambda: self.undo_bar.setVisible(False))

        delete_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.activated.connect(self._on_delete)

    def current_id(self) -> str:
        index = self.list.currentIndex()
        return str(index.data(IdRole)) if index.isValid() else ""

    def select(self, conv_id: str) -> None:
        row = self.model.row_of(conv_id)
        if row >= 0:
            self.list.setCurrentIndex(self.model.index(row))

    @Slot(QModelIndex)
    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.selected.emit(str(index.data(IdRole)))

    @Slot()
    def _on_rename(self) -> None:
        index = self.list.currentIndex()
        if index.isValid():
            self.list.edit(index)

    @Slot()
    def _on_delete(self) -> None:
        conv_id = self.current_id()
        if conv_id:
            self.delete_requested.emit(conv_id)

    def show_undo(self, title: str) -> None:
        short = title if len(title) <= 28 else title[:27] + "…"
        self.undo_label.setText(f"Deleted “{short}”")
        self.undo_bar.setVisible(True)
        self._undo_timer.start()

    @Slot()
    def _on_undo(self) -> None:
        self.undo_bar.setVisible(False)
        self.undo_requested.emit()
