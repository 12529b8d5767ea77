"""My Models: the local library with size, quantization, license badge and last use.

Listing reads every model's GGUF header, importing copies gigabytes, deleting removes files:
all of it runs on the bridge's workers. Deleting asks first; a linked file is only forgotten.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QBrush, QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fireside.core.hub.licenses import verdict
from fireside.core.models.library import LocalModel
from fireside.gui.bridge import Bridge
from fireside.gui.views.hub_common import human_bytes, license_color

COLUMNS = ("Name", "Size", "Quant", "License", "Last used")


def _when(ts: float) -> str:
    if not ts:
        return "never"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


class MyModelsView(QWidget):
    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("myModelsView")
        self.setAccessibleName("My Models")
        self.setAcceptDrops(True)
        self.models: list[LocalModel] = []
        heading = QLabel("<h2>My Models</h2>")
        heading.setObjectName("myModelsHeading")
        heading.setAccessibleName("My Models")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("modelsTable")
        self.table.setAccessibleName("Local models")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.status = QLabel("Drop .gguf files here to import them.")
        self.status.setObjectName("myModelsStatus")
        self.status.setAccessibleName("Status")
        self.status.setProperty("role", "muted")
        self.import_btn = self._button("Import…", "importButton", "Import a model file",
                                       self.choose_file)
        self.reveal_btn = self._button("Show in folder", "revealButton",
                                       "Reveal in file manager", self.reveal)
        self.delete_btn = self._button("Delete…", "deleteButton", "Delete model",
                                       self.delete_selected)
        self.refresh_btn = self._button("Refresh", "refreshModels", "Refresh list",
                                        self.refresh)
        buttons = QHBoxLayout()
        for b in (self.import_btn, self.reveal_btn, self.delete_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_btn)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self._update_buttons()
        self.refresh()

    def _button(self, text: str, name: str, accessible: str, slot: Any) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setAccessibleName(accessible)
        b.clicked.connect(lambda _c=False: slot())
        return b

    # -- listing --------------------------------------------------------------------------
    def refresh(self) -> None:
        self.bridge.submit(self.bridge.ctx.library.list, on_done=self._fill,
                           on_error=self.status.setText)

    def _fill(self, models: list[LocalModel]) -> None:
        self.models = models
        self.table.setRowCount(len(models))
        for row, m in enumerate(models):
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
        self.status.setText(f"{len(models)} models · drop .gguf files here to import them")
        self._update_buttons()

    def selected(self) -> LocalModel | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        name = item.data(Qt.ItemDataRole.UserRole) if item else None
        return next((m for m in self.models if m.name == name), None)

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        self.reveal_btn.setEnabled(has)
        self.delete_btn.setEnabled(has)

    # -- actions --------------------------------------------------------------------------
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

    def confirm_delete(self, model: LocalModel) -> bool:
        """Ask first; a separate method so tests can answer for the person."""
        what = "forget it (the file is linked and stays)" if model.entry.linked else \
            f"delete {human_bytes(model.size_bytes)} from disk"
        answer = QMessageBox.question(self, "Delete model",
                                      f"Remove {model.name}? This will {what}.")
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> None:
        model = self.selected()
        if model is None or not self.confirm_delete(model):
            return
        library = self.bridge.ctx.library
        self.bridge.submit(lambda: library.remove(model.name),
                           on_done=lambda m: self._changed(f"Removed {m.name}"),
                           on_error=self.status.setText)

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
