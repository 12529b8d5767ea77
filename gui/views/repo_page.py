"""One Hub repo: its card, license verdict, gated notice and a files table with fit verdicts.

Fit verdicts need each file's remote header (a few hundred KiB by Range request), so they are
fetched on the bridge's workers after the page shows, and fill in as they arrive. A file whose
header could not be read says "fit unknown". Files already in the library (see
:mod:`installed`) are marked and offer "Open" instead of "Download".
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel

from fireside.core.hub.catalog import FileChoice, RepoDetail
from fireside.core.hub.licenses import gated_message
from fireside.core.hub.remote_header import Fit
from fireside.core.units import plural
from fireside.gui import icons, theme
from fireside.gui.views.hub_common import (
    CHIP_ROLE,
    ChipDelegate,
    badge,
    fit_color,
    human_bytes,
    license_color,
)

COLUMNS = ("File", "Installed", "Quant", "Size", "Fit", "Max context", "License")
COL_STATUS, COL_SIZE, COL_FIT, COL_LICENSE = 1, 3, 4, 6


def fit_text(fit: Fit | None) -> str:
    """The Fit cell: the verdict, "fit unknown" when the header could not be read."""
    if fit is None:
        return "…"
    return "fit unknown" if fit.verdict == "unknown" else fit.verdict


def ctx_text(fit: Fit | None) -> str:
    """The Max context cell: unknown ("?") when the header could not be read."""
    if fit is None:
        return "…"
    return "?" if fit.verdict == "unknown" else str(fit.max_ctx)


class RepoPage(QWidget):
    download_requested = Signal(object, object)  # RepoDetail, FileChoice
    open_requested = Signal(str)  # the local model's name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("repoPage")
        self.setAccessibleName("Repository page")
        self.detail: RepoDetail | None = None
        self.fits: dict[str, Fit] = {}
        self.installed: dict[str, str] = {}  # choice name -> local model name
        self.filters: dict[str, Any] = {}

        self.title = QElidingLabel("Pick a model on the left")  # long names never widen it
        self.title.setObjectName("repoTitle")
        self.title.setAccessibleName("Repository name")
        self.title.setProperty("role", "heading")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badge_row = QHBoxLayout()
        self.license_reason = QLabel("")
        self.license_reason.setObjectName("licenseReason")
        self.license_reason.setAccessibleName("License reason")
        self.license_reason.setWordWrap(True)
        self.license_reason.setOpenExternalLinks(True)
        self.gated = QLabel("")
        self.gated.setObjectName("gatedNotice")
        self.gated.setAccessibleName("Gated repository notice")
        self.gated.setWordWrap(True)
        self.gated.hide()
        self.gated_icon = QLabel()  # a lock icon, not an emoji (fonts without it draw a box)
        self.gated_icon.setObjectName("gatedIcon")
        self.gated_icon.setAccessibleName("Gated repository")
        self.gated_icon.setToolTip("Gated: accept its terms on the Hub to download")
        self.gated_icon.hide()

        self.card = QTextBrowser()
        self.card.setObjectName("modelCard")
        self.card.setAccessibleName("Model card")
        self.card.setOpenExternalLinks(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("filesTable")
        self.table.setAccessibleName("Files")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setShowGrid(False)
        chips = ChipDelegate(self.table)
        for col in (COL_SIZE, COL_FIT):
            self.table.setItemDelegateForColumn(col, chips)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._update_button)
        self.table.doubleClicked.connect(lambda _i: self._activate())

        self.download = QPushButton("Download")
        theme.set_variant(self.download, "primary")
        icons.put(self.download, "download", "accent_text")
        self.download.setObjectName("downloadButton")
        self.download.setAccessibleName("Download")
        self.download.setEnabled(False)
        self.download.clicked.connect(self._download)
        self.open = QPushButton("Open")
        theme.set_variant(self.open, "primary")
        icons.put(self.open, "open", "accent_text")
        self.open.setObjectName("openModelButton")
        self.open.setAccessibleName("Open")
        self.open.setToolTip("Chat with the installed copy of this file")
        self.open.clicked.connect(self._open)
        self.open.hide()
        self.status = QElidingLabel("")  # a narrow window elides it beside the button
        self.status.setObjectName("repoStatus")
        self.status.setAccessibleName("Repository status")
        self.status.setProperty("role", "muted")

        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("repoSplit")
        split.addWidget(self.card)
        files_box = QWidget()
        fl = QVBoxLayout(files_box)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.table)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.open)
        row.addWidget(self.download)
        fl.addLayout(row)
        split.addWidget(files_box)
        split.setSizes([220, 300])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        heading = QHBoxLayout()
        heading.setSpacing(8)
        heading.addWidget(self.gated_icon)
        heading.addWidget(self.title, 1)
        layout.addLayout(heading)
        layout.addLayout(self.badge_row)
        layout.addWidget(self.license_reason)
        layout.addWidget(self.gated)
        layout.addWidget(split, 1)

    # -- filling in ---------------------------------------------------------------------
    def show_loading(self, repo: str) -> None:
        self.title.setText(repo)
        self.status.setText("Loading…")
        self.table.setRowCount(0)
        self.card.setMarkdown("")

    def show_error(self, message: str) -> None:
        self.status.setText(message)

    def show_detail(self, detail: RepoDetail, endpoint: str) -> None:
        self.detail = detail
        self.fits = {}
        self.installed = {}
        self.title.setText(detail.repo)
        while self.badge_row.count():
            item = self.badge_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        lic = detail.license
        self.badge_row.addWidget(badge(lic.label, lic.klass.value, lic.reason))
        stats = QElidingLabel(f"{plural(detail.downloads, 'download')} · "
                              f"{plural(detail.likes, 'like')}")
        stats.setProperty("role", "muted")
        stats.setObjectName("repoStats")
        stats.setAccessibleName("Downloads and likes")
        self.badge_row.addWidget(stats, 1)
        link = f' <a href="{lic.link}">Read the license</a>' if lic.link else ""
        self.license_reason.setText(f"{lic.reason}.{link}")
        self.gated.setVisible(detail.gated)
        self.gated_icon.setVisible(detail.gated)
        if detail.gated:
            self.gated_icon.setPixmap(icons.icon("gated", "warning").pixmap(QSize(20, 20)))
        self.gated.setText(gated_message(detail.repo, endpoint) if detail.gated else "")
        self.card.setMarkdown(detail.readme or "*This repo has no model card.*")
        self.status.setText(f"{plural(len(detail.choices), 'file')} · checking fit from file "
                            "headers…")
        self.refilter()

    def set_fit(self, name: str, fit: Fit) -> None:
        self.fits[name] = fit
        if len(self.fits) == len(self.detail.choices if self.detail else []):
            self.status.setText(f"{plural(len(self.fits), 'file')} · fit checked against this "
                                "machine")
        self.refilter()

    def set_installed(self, installed: dict[str, str]) -> None:
        """Which of this repo's files are in the library (choice name -> local model)."""
        if installed != self.installed:
            self.installed = dict(installed)
            self.refilter()

    def set_filters(self, filters: dict[str, Any]) -> None:
        self.filters = filters
        self.refilter()

    def visible_choices(self) -> list[FileChoice]:
        if self.detail is None:
            return []
        quant = self.filters.get("quant") or ""
        max_size = self.filters.get("max_size") or 0
        fits_only = bool(self.filters.get("fits_only"))
        out = []
        for c in self.detail.choices:
            if quant and not c.quant.upper().startswith(quant.upper()):
                continue
            if max_size and c.size > max_size:
                continue
            fit = self.fits.get(c.name)
            if fits_only and fit is not None and fit.verdict == "too big":
                continue
            out.append(c)
        return out

    def refilter(self) -> None:
        selected = self.selected_choice()
        choices = self.visible_choices()
        self.table.setRowCount(len(choices))
        lic = self.detail.license if self.detail else None
        for row, c in enumerate(choices):
            fit = self.fits.get(c.name)
            name = c.name + (f"  (+{len(c.files) - 1} parts)" if c.split else "")
            local = self.installed.get(c.name)
            cells = [name, "✓ installed" if local else "", c.quant, human_bytes(c.size),
                     fit_text(fit), ctx_text(fit), lic.license_id if lic else ""]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, c.name)
                if col == COL_STATUS and local:
                    item.setForeground(QBrush(fit_color("fits")))
                    item.setToolTip(f"Installed as {local}")
                    item.setData(Qt.ItemDataRole.AccessibleTextRole, f"installed as {local}")
                if col == COL_SIZE:
                    item.setData(CHIP_ROLE, "neutral")
                if col == COL_FIT:
                    item.setData(CHIP_ROLE, fit.verdict if fit is not None else "unknown")
                if col == COL_FIT and fit is not None:
                    item.setToolTip(fit.reason)
                if col == COL_LICENSE and lic is not None:
                    item.setForeground(QBrush(license_color(lic.klass.value)))
                    item.setToolTip(f"{lic.label}: {lic.reason}")
                self.table.setItem(row, col, item)
            if selected is not None and c.name == selected.name:
                self.table.selectRow(row)
        self.table.setColumnHidden(COL_STATUS, not self.installed)  # room for file names
        self._update_button()

    def selected_choice(self) -> FileChoice | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or self.detail is None:
            return None
        item = self.table.item(rows[0].row(), 0)
        name = item.data(Qt.ItemDataRole.UserRole) if item else None
        return next((c for c in self.detail.choices if c.name == name), None)

    def installed_name(self, choice: FileChoice | None) -> str:
        """The local model holding ``choice`` ("" when it is not installed)."""
        return self.installed.get(choice.name, "") if choice is not None else ""

    def _update_button(self) -> None:
        choice = self.selected_choice()
        local = self.installed_name(choice)
        self.open.setVisible(bool(local))
        self.download.setVisible(not local)
        self.download.setEnabled(choice is not None)
        if local:
            self.open.setAccessibleDescription(f"Chat with {local}")

    def _activate(self) -> None:
        if self.installed_name(self.selected_choice()):
            self._open()
        else:
            self._download()

    def _open(self) -> None:
        local = self.installed_name(self.selected_choice())
        if local:
            self.open_requested.emit(local)
            self.status.setText(f"Opening {local}…")

    def _download(self) -> None:
        choice = self.selected_choice()
        if self.detail is not None and choice is not None:
            self.download_requested.emit(self.detail, choice)
            self.status.setText(f"Queued {choice.name} — see Downloads")
