"""Discover: search the Hub for GGUF models, read a repo's card, pick a file, download it.

Every Hub call runs on the bridge's workers; results carry the request number they answer so a
slow, stale reply never overwrites a newer one. Typing is debounced (350 ms) so a search goes
out when the person pauses, not on every key.

Discover knows what is installed: the library is read on a worker when a repo opens and when
a download finishes; installed files offer "Open" (:attr:`DiscoverView.open_model_requested`
carries the local model's name, for the window to open a chat with it), and a download of a
file the library already holds (same sha256, or same repo and file) asks first.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from fireside.core.hub.catalog import (
    FileChoice,
    RepoDetail,
    RepoSummary,
    SearchPage,
    repo_detail,
    search,
)
from fireside.core.hub.licenses import LicenseClass
from fireside.core.hub.manager import DONE, DownloadJob, DownloadManager
from fireside.core.hub.remote_header import Fit, remote_fit, unknown_fit
from fireside.core.models.library import LocalModel
from fireside.core.units import plural
from fireside.gui.bridge import Bridge
from fireside.gui.views.discover_card import CardList, RepoCard
from fireside.gui.views.hub_common import hub_config
from fireside.gui.views.installed import installed_model, installed_names
from fireside.gui.views.naming import named
from fireside.gui.views.repo_page import RepoPage

log = logging.getLogger("fireside.gui.discover")

DEBOUNCE_MS = 350
PAGE = 20
SORTS = [("Most downloaded", "downloads"), ("Most liked", "likes"), ("Trending", "trending"),
         ("Recently updated", "updated")]
QUANTS = ["Any quantization", "Q2_K", "Q3_K", "Q4_K_M", "Q4_0", "Q5_K", "Q6_K", "Q8_0", "IQ",
          "F16", "BF16"]
SIZES = [("Any size", 0), *((f"≤ {n} GiB", n * 2**30) for n in (1, 4, 8, 16, 32))]



class DiscoverView(QWidget):
    open_model_requested = Signal(str)  # a library model's name: open a chat with it

    def __init__(self, bridge: Bridge, downloads: DownloadManager,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.downloads = downloads
        self.setObjectName("discoverView")
        self.setAccessibleName("Discover")
        self._search_id = 0
        self._repo_id = 0
        self._page = 0
        self._results: list[RepoSummary] = []
        self._library_id = 0
        self._models: list[LocalModel] = []
        self._notice = False  # the status line says something a late result must not hide

        self.query = named(QLineEdit(), "searchBox", "Search models")
        self.query.setPlaceholderText("Search GGUF models on the Hub…")
        self.query.setClearButtonEnabled(True)
        self.sort = named(QComboBox(), "sortBox", "Sort results")
        for label, key in SORTS:
            self.sort.addItem(label, key)
        self.quant = named(QComboBox(), "quantFilter", "Quantization filter")
        self.quant.addItems(QUANTS)
        self.max_size = named(QComboBox(), "sizeFilter", "Maximum size filter")
        for label, size in SIZES:
            self.max_size.addItem(label, size)
        self.fits_only = named(QCheckBox("Fits this machine"), "fitsFilter",
                                "Only files that fit this machine")
        self.license = named(QComboBox(), "licenseFilter", "License filter")
        self.license.addItem("Any license", "")
        for klass in LicenseClass:
            self.license.addItem(klass.label, klass.value)

        self.results = named(CardList(), "resultsList", "Search results")
        self.results.setMinimumWidth(220)  # cards elide below their natural width
        self.results.setSpacing(4)
        self.results.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.currentItemChanged.connect(self._open_selected)
        self.more = named(QPushButton("More results"), "moreButton", "More results")
        self.more.clicked.connect(self._next_page)
        self.more.hide()
        self.status = named(QLabel(""), "discoverStatus", "Search status")
        self.status.setProperty("role", "muted")
        self.status.setWordWrap(True)
        self.page = RepoPage()
        self.page.download_requested.connect(self._download)
        self.page.open_requested.connect(self.open_model_requested.emit)
        self.downloads.add_listener(bridge.relay(self._on_job))

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_search)
        self.query.textChanged.connect(lambda _t: self._debounce.start())
        self.query.returnPressed.connect(self.run_search)
        self.sort.currentIndexChanged.connect(lambda _i: self.run_search())
        for box in (self.quant, self.max_size, self.license):
            box.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.fits_only.toggled.connect(lambda _c: self._apply_filters())

        top = QHBoxLayout()
        top.addWidget(self.query, 1)
        top.addWidget(self.sort)
        filters = QHBoxLayout()
        for w in (self.quant, self.max_size, self.license, self.fits_only):
            filters.addWidget(w)
        filters.addStretch(1)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.results, 1)
        ll.addWidget(self.more)
        ll.addWidget(self.status)
        split = named(QSplitter(Qt.Orientation.Horizontal), "discoverSplit", "Results and repo")
        split.addWidget(left)
        split.addWidget(self.page)
        split.setStretchFactor(1, 1)
        split.setSizes([340, 700])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(split, 1)
        QTimer.singleShot(0, self.run_search)

    # -- search ---------------------------------------------------------------------------
    def run_search(self, page: int = 0) -> None:
        self._debounce.stop()
        self._search_id += 1
        rid = self._search_id
        self._page = page
        query, sort = self.query.text().strip(), self.sort.currentData()
        config = hub_config(self.bridge)
        self._notice = False
        self.status.setText("Searching…")
        self.bridge.submit(lambda: search(config, query, sort=sort, limit=PAGE, page=page),
                           on_done=lambda res: self._on_results(rid, res),
                           on_error=lambda msg: self._on_search_error(rid, msg))

    def _next_page(self) -> None:
        self.run_search(self._page + 1)

    def _on_search_error(self, rid: int, message: str) -> None:
        if rid == self._search_id:
            self.status.setText(message)
            self.more.hide()

    def _on_results(self, rid: int, page: SearchPage) -> None:
        if rid != self._search_id:
            return
        if page.page == 0:
            self._results = []
        self._results.extend(page.results)
        self.more.setVisible(page.has_more)
        self._fill_results()

    def _fill_results(self) -> None:
        wanted = self.license.currentData()
        current = self.results.currentItem()
        keep = current.data(Qt.ItemDataRole.UserRole) if current else None
        self.results.blockSignals(True)
        self.results.clear()
        shown = 0
        for r in self._results:
            if wanted and r.license.klass.value != wanted:
                continue
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, r.repo)
            item.setData(Qt.ItemDataRole.AccessibleTextRole,
                         f"{r.repo}, {plural(r.downloads, 'download')}, "
                         f"license {r.license.label}" + (", gated" if r.gated else ""))
            item.setToolTip(r.license.reason)
            card = RepoCard(r)
            item.setSizeHint(QSize(0, card.sizeHint().height()))
            self.results.addItem(item)
            self.results.setItemWidget(item, card)
            if r.repo == keep:
                self.results.setCurrentItem(item)
            shown += 1
        self.results.blockSignals(False)
        self.results.fit_cards()
        self._mark_cards(self.results.currentItem())
        if not self._notice:
            self.status.setText(plural(shown, "repo") if shown else "No GGUF repos match.")

    def _apply_filters(self) -> None:
        self._fill_results()
        self.page.set_filters({"quant": "" if self.quant.currentIndex() == 0
                               else self.quant.currentText(),
                               "max_size": self.max_size.currentData(),
                               "fits_only": self.fits_only.isChecked()})

    def restyle(self) -> None:
        """The theme changed: the repo page's coloured cells follow it (cards use the sheet)."""
        self.page.refilter()

    # -- repo page ------------------------------------------------------------------------
    def _mark_cards(self, item: QListWidgetItem | None) -> None:
        for row in range(self.results.count()):
            each = self.results.item(row)
            card = self.results.itemWidget(each)
            if isinstance(card, RepoCard):
                card.set_selected(each is item)

    def _open_selected(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        self._mark_cards(item)
        if item is not None:
            self.open_repo(item.data(Qt.ItemDataRole.UserRole))

    def open_repo(self, repo: str) -> None:
        self._repo_id += 1
        rid = self._repo_id
        config = hub_config(self.bridge)
        self.page.show_loading(repo)
        self.refresh_installed()
        self.bridge.submit(lambda: repo_detail(config, repo),
                           on_done=lambda d: self._on_detail(rid, d),
                           on_error=lambda m: rid == self._repo_id and self.page.show_error(m))

    def _on_detail(self, rid: int, detail: RepoDetail) -> None:
        if rid != self._repo_id:
            return
        config = hub_config(self.bridge)
        self.page.show_detail(detail, config.endpoint)
        self._mark_installed()
        n_ctx = 4096
        from huggingface_hub import hf_hub_url

        for choice in detail.choices:
            url = hf_hub_url(detail.repo, choice.files[0].path, revision=detail.sha or "main",
                             endpoint=config.endpoint)

            def work(url: str = url, size: int = choice.size) -> Fit:
                try:
                    return remote_fit(config, url, size, n_ctx)[0]
                except Exception as exc:  # an unexpected failure still ends in a verdict
                    log.warning("fit check of %s failed: %s", url, exc)
                    return unknown_fit(size, n_ctx, why=str(exc))

            self.bridge.submit(work, on_done=lambda fit, name=choice.name: (
                rid == self._repo_id and self.page.set_fit(name, fit)))

    # -- what is installed ----------------------------------------------------------------
    def refresh_installed(self) -> None:
        """Read the library on a worker; the repo page's marks follow when it answers."""
        self._library_id += 1
        rid = self._library_id
        library = self.bridge.ctx.library
        self.bridge.submit(library.list, on_done=lambda models: self._on_library(rid, models),
                           on_error=lambda msg: log.warning("library unreadable: %s", msg))

    def _on_library(self, rid: int, models: list[LocalModel]) -> None:
        if rid == self._library_id:
            self._models = models
            self._mark_installed()

    def _mark_installed(self) -> None:
        detail = self.page.detail
        if detail is not None:
            self.page.set_installed(installed_names(self._models, detail.repo, detail.choices))

    def _on_job(self, job: DownloadJob) -> None:
        if job.state == DONE:
            self.refresh_installed()

    # -- download -------------------------------------------------------------------------
    def confirm_duplicate(self, filename: str, model: LocalModel) -> bool:
        """Ask before downloading a file the library holds; a method so tests can answer."""
        answer = QMessageBox.question(
            self, "Already installed",
            f"{filename} is already installed as {model.name}. Download another copy?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _download(self, detail: RepoDetail, choice: FileChoice) -> None:
        """Check the library afresh (on a worker), ask if the file is there, then queue it."""
        library = self.bridge.ctx.library
        self.bridge.submit(library.list,
                           on_done=lambda models: self._download_checked(detail, choice,
                                                                         models),
                           on_error=lambda msg: self._download_unchecked(detail, choice, msg))

    def _download_unchecked(self, detail: RepoDetail, choice: FileChoice, message: str) -> None:
        log.warning("library unreadable (%s); downloading %s unchecked", message, choice.name)
        self._start_download(detail, choice)

    def _download_checked(self, detail: RepoDetail, choice: FileChoice,
                          models: list[LocalModel]) -> None:
        self._models = models
        self._mark_installed()
        present = installed_model(models, detail.repo, choice)
        if present is not None and not self.confirm_duplicate(choice.name, present):
            self.status.setText(f"{choice.name} is already installed as {present.name}; "
                                "not downloaded")
            self._notice = True
            self.page.status.setText(f"Already installed as {present.name}")
            return
        self._start_download(detail, choice)

    def _start_download(self, detail: RepoDetail, choice: FileChoice) -> None:
        job = self.downloads.submit(detail.repo, [f.path for f in choice.files],
                             revision=detail.sha, license_id=detail.license.license_id,
                             total_bytes=choice.size)
        self.status.setText(f"Downloading {job.label} — progress in Downloads")
        self._notice = True
