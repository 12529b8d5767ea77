"""My Models: the local library with size, quantization, license badge and last use.

Each model offers Chat with this (also double-click or Enter), Load with settings…, Show in
folder and Delete — as buttons, in a context menu, and from the keyboard (Delete key). Delete
takes effect after an Undo window (the file is removed only when it passes, or when the app
quits), so no file the person wanted back is ever lost. The list follows the library wherever
it changes (a finished download, an import, ``fireside rm``) through a
:class:`~fireside.gui.library_watch.LibraryWatcher`, and the selection stays on the model the
person picked: it never slides onto the next row by itself.

Listing reads every model's GGUF header, importing copies gigabytes, deleting removes files:
all of it runs on the bridge's workers.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QBrush,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fireside.core.hub.licenses import verdict
from fireside.core.hub.manager import DownloadManager
from fireside.core.models.library import LocalModel
from fireside.core.units import plural
from fireside.gui import icons, theme
from fireside.gui.bridge import Bridge
from fireside.gui.library_watch import LibraryWatcher
from fireside.gui.views.add_from_url import AddFromUrlDialog
from fireside.gui.views.hub_common import human_bytes, license_color
from fireside.gui.views.undo_bar import UndoBar

log = logging.getLogger("fireside.gui.models")
COLUMNS = ("Name", "Size", "Quant", "License", "Last used")
HINT = "drop .gguf files here to import them"


def _when(ts: float) -> str:
    if not ts:
        return "never"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _count(n: int) -> str:
    return plural(n, "model")


class MyModelsView(QWidget):
    chat_requested = Signal(str)  # model name: open the chat with it
    load_settings_requested = Signal(str)  # model name: the Load settings dialog

    def __init__(self, bridge: Bridge, watcher: LibraryWatcher | None = None,
                 downloads: DownloadManager | None = None, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.downloads = downloads  # for "Add from URL…" (core/hub/sources.py)
        self.setObjectName("myModelsView")
        self.setAccessibleName("My Models")
        self.setAcceptDrops(True)
        self.models: list[LocalModel] = []
        self._pending: LocalModel | None = None  # deleted, waiting out its Undo window
        heading = QLabel("My Models")
        heading.setProperty("role", "heading")
        heading.setObjectName("myModelsHeading")
        heading.setAccessibleName("My Models")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("modelsTable")
        self.table.setAccessibleName("Local models")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.activated.connect(lambda _index: self.chat_with())  # double-click, Enter
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.status = QLabel(HINT.capitalize() + ".")
        self.status.setObjectName("myModelsStatus")
        self.status.setAccessibleName("Status")
        self.status.setProperty("role", "muted")
        self.undo_bar = UndoBar("modelUndo")
        self.undo_bar.undone.connect(self._undo_delete)
        self.undo_bar.expired.connect(self._commit_delete)

        self.import_btn = self._button("Import…", "importButton", "Import a model file",
                                       self.choose_file)
        self.chat_btn = self._button("Chat", "chatWithModel", "Chat with this", self.chat_with)
        self.load_btn = self._button("Load with settings…", "loadWithSettings",
                                     "Load with settings", self.load_with_settings)
        self.reveal_btn = self._button("Show in folder", "revealButton",
                                       "Show in folder", self.reveal)
        self.delete_btn = self._button("Delete", "deleteButton", "Delete model",
                                       self.delete_selected)
        self.refresh_btn = self._button("Refresh", "refreshModels", "Refresh list",
                                        self.refresh)
        self.add_url_btn = self._button("Add from URL…", "addFromUrlButton",
                                        "Add a model from a URL", self.add_from_url)
        self.add_url_btn.setVisible(downloads is not None)
        self.model_actions = self._make_actions()
        theme.set_variant(self.chat_btn, "primary")
        for button, icon, tint in ((self.chat_btn, "open", "accent_text"),
                                   (self.load_btn, "load_settings", "text"),
                                   (self.reveal_btn, "folder", "text"),
                                   (self.delete_btn, "delete", "text"),
                                   (self.import_btn, "import", "text"),
                                   (self.add_url_btn, "link", "text")):
            icons.put(button, icon, tint)
        # Adding models sits by the heading, acting on the selected one above the table: two
        # short rows, so the page fits an 800 px window.
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        for b in (self.add_url_btn, self.import_btn, self.refresh_btn):
            top.addWidget(b)
        buttons = QHBoxLayout()
        for b in (self.chat_btn, self.load_btn, self.reveal_btn, self.delete_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        theme.page_margins(layout)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addWidget(self.undo_bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.delete_selected)
        if watcher is not None:
            watcher.changed.connect(self.refresh)
        self._update_buttons()
        self.refresh()

    def _button(self, text: str, name: str, accessible: str, slot: Any) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setAccessibleName(accessible)
        b.clicked.connect(lambda _c=False: slot())
        return b

    def _make_actions(self) -> dict[str, QAction]:
        """The context menu's entries (also what the buttons do)."""
        made: dict[str, QAction] = {}
        for key, text, slot in (("chat", "Chat with this", self.chat_with),
                                ("load", "Load with settings…", self.load_with_settings),
                                ("reveal", "Show in folder", self.reveal),
                                ("delete", "Delete", self.delete_selected)):
            action = QAction(text, self)
            action.setObjectName(f"modelAction_{key}")
            action.triggered.connect(lambda _c=False, s=slot: s())
            made[key] = action
        made["delete"].setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        made["delete"].setShortcutVisibleInContextMenu(True)
        return made

    def add_from_url(self) -> AddFromUrlDialog | None:
        """The "Add from URL…" dialog: resolve, show license and fit, queue in Downloads."""
        if self.downloads is None:
            return None
        dialog = AddFromUrlDialog(self.bridge, self.downloads, self)
        dialog.queued.connect(lambda _id: self.status.setText("Queued in Downloads."))
        dialog.open()
        return dialog

    # -- listing --------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        self.bridge.submit(self.bridge.ctx.library.list, on_done=self._fill,
                           on_error=self.status.setText)

    def _shown(self) -> list[LocalModel]:
        pending = self._pending.name if self._pending else None
        return [m for m in self.models if m.name != pending]

    def _fill(self, models: list[LocalModel]) -> None:
        self.models = models
        self._show_rows()

    def _show_rows(self) -> None:
        keep = self.selected_name()
        shown = self._shown()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(shown))
        for row, m in enumerate(shown):
            lic_id = m.entry.license or (m.meta.license if m.meta else "")
            v = verdict({}, [], lic_id)
            quant = m.meta.quantization if m.meta else "error"
            cells = [m.name, human_bytes(m.size_bytes), quant,
                     f"{lic_id or '?'} · {v.label}", _when(m.entry.last_used)]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, m.name)
                if col == 3:
                    item.setForeground(QBrush(license_color(v.klass.value)))
                    item.setToolTip(v.reason)
                if m.error:
                    item.setToolTip(m.error)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.select(keep)  # the same model, wherever it is now; or nothing, never its neighbour
        self.status.setText(f"{_count(len(shown))} · {HINT}")
        self._update_buttons()

    def restyle(self) -> None:
        """The theme changed: the license column's colours follow it."""
        self._show_rows()

    def select(self, name: str | None) -> None:
        """Select ``name``'s row, or nothing when it is not listed."""
        self.table.clearSelection()
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if name and item is not None and item.data(Qt.ItemDataRole.UserRole) == name:
                self.table.selectRow(row)
                return
        self.table.setCurrentCell(-1, -1)

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def selected(self) -> LocalModel | None:
        name = self.selected_name()
        return next((m for m in self._shown() if m.name == name), None)

    @Slot()
    def _update_buttons(self) -> None:
        model = self.selected()
        usable = model is not None and not model.error
        for widget in (self.chat_btn, self.load_btn, self.model_actions["chat"],
                       self.model_actions["load"]):
            widget.setEnabled(usable)
        for widget in (self.reveal_btn, self.delete_btn, self.model_actions["reveal"],
                       self.model_actions["delete"]):
            widget.setEnabled(model is not None)

    @Slot(QPoint)
    def _context_menu(self, pos: QPoint) -> None:
        item = self.table.itemAt(pos)
        if item is None:
            return
        self.table.selectRow(item.row())
        self.menu_for(pos).popup(self.table.viewport().mapToGlobal(pos))

    def menu_for(self, _pos: QPoint | None = None) -> QMenu:
        """The context menu for the selected model (its own method so tests can open it)."""
        menu = QMenu(self)
        menu.setObjectName("modelMenu")
        menu.setAccessibleName("Model actions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction(self.model_actions["chat"])
        menu.addAction(self.model_actions["load"])
        menu.addSeparator()
        menu.addAction(self.model_actions["reveal"])
        menu.addSeparator()
        menu.addAction(self.model_actions["delete"])
        return menu

    # -- actions --------------------------------------------------------------------------
    @Slot()
    def chat_with(self) -> None:
        model = self.selected()
        if model is not None and not model.error:
            self.chat_requested.emit(model.name)

    @Slot()
    def load_with_settings(self) -> None:
        model = self.selected()
        if model is not None and not model.error:
            self.load_settings_requested.emit(model.name)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", str(Path.home()),
                                              "GGUF models (*.gguf)")
        if path:
            self.import_paths([Path(path)])

    def import_paths(self, paths: list[Path]) -> None:
        library = self.bridge.ctx.library
        for path in paths:
            self.status.setText(f"Importing {path.name}…")
            self.bridge.submit(lambda p=path: library.import_file(p),
                               on_done=lambda m: self._changed(f"Imported {m.name}"),
                               on_error=self.status.setText)

    def _changed(self, message: str) -> None:
        self.status.setText(message)
        self.refresh()

    def reveal(self) -> None:
        model = self.selected()
        if model is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(model.path.parent)))

    @Slot()
    def delete_selected(self) -> None:
        """Take the model off the list now; remove it for real once Undo is no longer offered.

        A second delete within the window finishes the first one (one Undo at a time)."""
        model = self.selected()
        if model is None:
            return
        self.undo_bar.finish_now()
        self._pending = model
        self._show_rows()
        tail = " (the linked file stays where it is)" if model.entry.linked else \
            f" ({human_bytes(model.size_bytes)})"
        self.undo_bar.offer(f"{'Forgot' if model.entry.linked else 'Deleted'} {model.name}"
                            f"{tail}")

    @Slot()
    def _undo_delete(self) -> None:
        model, self._pending = self._pending, None
        self._show_rows()
        if model is not None:
            self.select(model.name)
            self.status.setText(f"{model.name} is back")

    @Slot()
    def _commit_delete(self) -> None:
        model, self._pending = self._pending, None
        if model is None:
            return
        library = self.bridge.ctx.library
        self.bridge.submit(lambda: library.remove(model.name),
                           on_done=lambda m: self._changed(f"Removed {m.name}"),
                           on_error=self._delete_failed)

    def _delete_failed(self, message: str) -> None:
        self.status.setText(message)
        self.refresh()  # it is still there: list it again

    def shutdown(self) -> None:
        """The app is quitting inside an Undo window: the delete happens now (here, since
        the workers are being stopped)."""
        model, self._pending = self._pending, None
        if model is not None:
            try:
                self.bridge.ctx.library.remove(model.name)
            except Exception as exc:  # noqa: BLE001 - quitting: say it in the log, go on
                log.warning("could not delete %s on quit: %s", model.name, exc)

    # -- drag and drop --------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.toLocalFile().lower().endswith(".gguf") for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls()
                 if u.toLocalFile().lower().endswith(".gguf")]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)
