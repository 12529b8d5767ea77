"""My Models → "Add from URL…": a URL, ``github:`` or ``hf.co/`` reference, checked first.

Resolving talks to the network (release JSON, a Range request for the GGUF header), so it
runs on the bridge's workers, never on the GUI thread. The dialog shows the license verdict,
the fit verdict and which sha256 check will apply before anything is downloaded; "Download"
then queues the reference in Downloads (:meth:`DownloadManager.submit_resolved`) like any
other download. A result for text that has since changed is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fireside.core.hub.manager import DownloadManager
from fireside.core.hub.remote_header import Fit
from fireside.core.hub.sources import Resolved
from fireside.gui import theme
from fireside.gui.bridge import Bridge
from fireside.gui.views.hub_common import chip_kind, hub_config, human_bytes

log = logging.getLogger("fireside.gui.add_from_url")
PLACEHOLDER = "https://…/model.gguf · github:owner/repo[@tag][:quant] · hf.co/user/repo[:quant]"


@dataclass(frozen=True)
class Checked:
    ref: str
    resolved: Resolved
    fit: Fit
    architecture: str


def _pill(label: QLabel, text: str, kind: str) -> None:
    """A chip in the theme's colours for ``kind`` (a license class or a fit verdict)."""
    family, colors = chip_kind(kind), theme.current()
    label.setText(text)
    label.setStyleSheet(f"QLabel {{ background: {colors.token(f'chip_{family}_bg')}; "
                        f"color: {colors.token(f'chip_{family}_fg')}; border-radius: 10px;"
                        " padding: 2px 9px; font-weight: 600; }")


class AddFromUrlDialog(QDialog):
    queued = Signal(int)  # the download job's id

    def __init__(self, bridge: Bridge, downloads: DownloadManager,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge, self.downloads = bridge, downloads
        self.checked: Checked | None = None
        self.setWindowTitle("Add from URL")
        self.setObjectName("addFromUrlDialog")
        self.setAccessibleName("Add from URL")
        self.setMinimumWidth(760)
        self.ref_edit = QLineEdit()
        self.ref_edit.setObjectName("addFromUrlRef")
        self.ref_edit.setAccessibleName("URL or reference")
        self.ref_edit.setPlaceholderText(PLACEHOLDER)
        self.ref_edit.textChanged.connect(self._text_changed)
        self.ref_edit.returnPressed.connect(self.check)
        self.sha_edit = QLineEdit()
        self.sha_edit.setObjectName("addFromUrlSha256")
        self.sha_edit.setAccessibleName("Expected sha256 (optional)")
        self.sha_edit.setPlaceholderText("optional: the sha256 the publisher gives")
        self.sha_edit.textChanged.connect(self._text_changed)
        self.check_btn = self._button("Check", "addFromUrlCheck", "Check the reference",
                                      self.check)
        self.download_btn = self._button("Download", "addFromUrlDownload",
                                         "Queue the download", self.download)
        self.cancel_btn = self._button("Cancel", "addFromUrlCancel", "Cancel", self.reject)
        self.download_btn.setEnabled(False)
        self.file_label = self._label("addFromUrlFile", "File")
        self.license_badge = self._label("addFromUrlLicense", "License verdict")
        self.license_reason = self._label("addFromUrlLicenseReason", "License reason")
        self.fit_badge = self._label("addFromUrlFit", "Fit verdict")
        self.fit_reason = self._label("addFromUrlFitReason", "Fit reason")
        self.check_label = self._label("addFromUrlVerify", "Verification")
        self.status = self._label("addFromUrlStatus", "Status")
        self.status.setProperty("role", "muted")
        self.status.setText("Paste a link to a .gguf file, a GitHub release or a Hub repo, "
                            "then Check: license and fit come before any download.")
        row = QHBoxLayout()
        row.addWidget(self.ref_edit, 1)
        row.addWidget(self.check_btn)
        form = QFormLayout()
        form.addRow("Expected sha256", self.sha_edit)
        form.addRow("File", self.file_label)
        for badge, reason, title in ((self.license_badge, self.license_reason, "License"),
                                     (self.fit_badge, self.fit_reason, "Fit")):
            line = QHBoxLayout()
            line.addWidget(badge)
            line.addWidget(reason, 1)
            form.addRow(title, line)
        form.addRow("Verification", self.check_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_btn)
        buttons.addWidget(self.download_btn)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Add a model from a URL, a GitHub release or the Hub</b>"))
        layout.addLayout(row)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._clear()

    def _button(self, text: str, name: str, accessible: str, slot: object) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setAccessibleName(accessible)
        b.clicked.connect(lambda _c=False: slot())  # type: ignore[operator]
        return b

    def _label(self, name: str, accessible: str) -> QLabel:
        label = QLabel("")
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def _clear(self) -> None:
        self.checked = None
        self.download_btn.setEnabled(False)
        for label in (self.file_label, self.license_reason, self.fit_reason, self.check_label):
            label.setText("—")
        for badge in (self.license_badge, self.fit_badge):
            badge.setText("")
            badge.setStyleSheet("")

    @Slot()
    def _text_changed(self) -> None:
        if self.checked is not None:
            self._clear()

    # -- resolving, on a worker ---------------------------------------------------------------
    @Slot()
    def check(self) -> None:
        ref, sha = self.ref_edit.text().strip(), self.sha_edit.text().strip()
        if not ref:
            self.status.setText("Enter a URL or a reference first.")
            return
        self._clear()
        self.check_btn.setEnabled(False)
        self.status.setText(f"Checking {ref}…")
        hub = hub_config(self.bridge)

        def work() -> Checked:
            from fireside.core.hub.source_download import fit_before
            from fireside.core.hub.sources import resolve

            resolved = resolve(ref, sha256=sha, hub=hub)
            fit, meta = fit_before(resolved, hub)
            return Checked(ref, resolved, fit, meta.architecture if meta else "")

        self.bridge.submit(work, on_done=self._checked, on_error=self._failed)

    def _current(self, ref: str) -> bool:
        return ref == self.ref_edit.text().strip()

    def _checked(self, result: Checked) -> None:
        self.check_btn.setEnabled(True)
        if not self._current(result.ref):
            return  # the text changed while it resolved: stale
        self.checked = result
        res, fit, lic = result.resolved, result.fit, result.resolved.license
        parts = f" in {len(res.files)} parts" if len(res.files) > 1 else ""
        arch = f", {result.architecture}" if result.architecture else ""
        self.file_label.setText(f"{res.label}\n{res.quant}, {human_bytes(res.size)}{parts}{arch}")
        _pill(self.license_badge, lic.license_id or "no license", lic.klass.value)
        self.license_reason.setText(f"{lic.label} — {lic.reason}")
        _pill(self.fit_badge, fit.verdict, fit.verdict)
        self.fit_reason.setText(fit.reason)
        self.check_label.setText(res.check + "".join(f"\n{n}" for n in res.notes))
        self.download_btn.setEnabled(True)
        self.status.setText("Download queues it in Downloads; it resumes after a restart."
                            if res.resumable else "This server cannot resume: an interrupted "
                            "download starts over.")
        self.adjustSize()

    def _failed(self, message: str) -> None:
        self.check_btn.setEnabled(True)
        self.status.setText(message)

    @Slot()
    def download(self) -> None:
        if self.checked is None:
            return
        job = self.downloads.submit_resolved(self.checked.resolved)
        log.info("queued %s as download %d", self.checked.resolved.label, job.id)
        self.queued.emit(job.id)
        self.accept()
