"""Downloads: the queue's jobs with progress bars, speed, ETA, pause/resume and cancel.

A finished job shows no greyed Pause/Cancel: a done one offers "Open" (chat with the model) and
"Remove from list", a cancelled one only the latter.

Workers update job objects many times a second; the view repaints from them on a 500 ms timer
(qutebrowser's download view does the same), so a fast download never floods the GUI thread.
Pause, resume and cancel only set flags or queue work: they never block.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from fireside.core.hub.manager import (
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    QUEUED,
    RUNNING,
    DownloadJob,
    DownloadManager,
)
from fireside.gui import icons, theme
from fireside.gui.bridge import Bridge
from fireside.gui.views.hub_common import human_bytes

REFRESH_MS = 500


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    return f"{s // 3600}h {s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


class JobRow(QFrame):
    def __init__(self, job: DownloadJob, manager: DownloadManager,
                 on_open: Callable[[str], None] | None = None,
                 on_remove: Callable[[int], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.manager = manager
        self.setObjectName(f"downloadJob{job.id}")
        self.setAccessibleName(f"Download {job.label}")
        self.setProperty("card", "true")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.title = QLabel(f"<b>{job.label}</b>")
        self.title.setObjectName("jobTitle")
        self.title.setAccessibleName("File")
        self.repo = QLabel(job.repo)
        self.repo.setObjectName("jobRepo")
        self.repo.setProperty("role", "muted")
        self.bar = QProgressBar()
        self.bar.setObjectName("jobProgress")
        self.bar.setAccessibleName(f"Progress of {job.label}")
        self.bar.setRange(0, 1000)
        self.detail = QLabel("")
        self.detail.setObjectName("jobDetail")
        self.detail.setAccessibleName("Speed and time left")
        self.detail.setProperty("role", "muted")
        self.pause = QPushButton("Pause")
        self.pause.setObjectName("pauseButton")
        self.pause.setAccessibleName(f"Pause {job.label}")
        self.pause.clicked.connect(self._toggle)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancelButton")
        self.cancel.setAccessibleName(f"Cancel {job.label}")
        self.cancel.clicked.connect(lambda: self.manager.cancel(self.job.id))
        icons.put(self.pause, "pause")
        icons.put(self.cancel, "cancel")
        self.open = QPushButton("Open")
        self.open.setObjectName("openButton")
        self.open.setAccessibleName(f"Open {job.label}")
        self.open.setToolTip("Chat with this model")
        theme.set_variant(self.open, "primary")
        icons.put(self.open, "open", "accent_text")
        self.open.clicked.connect(lambda: on_open and on_open(self.job.model_name or ""))
        self.remove = QPushButton("Remove from list")
        self.remove.setObjectName("removeButton")
        self.remove.setAccessibleName(f"Remove {job.label} from the list")
        self.remove.clicked.connect(lambda: on_remove and on_remove(self.job.id))
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.repo, 1)
        for button in (self.pause, self.cancel, self.open, self.remove):
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail)
        self.refresh()

    def _toggle(self) -> None:
        if self.job.state in (PAUSED, FAILED):
            self.manager.resume(self.job.id)
        else:
            self.manager.pause(self.job.id)
        self.refresh()

    def refresh(self) -> None:
        j = self.job
        self.bar.setValue(int(j.fraction * 1000))
        self.bar.setFormat(f"{j.fraction * 100:.0f}%")
        done = f"{human_bytes(j.done_bytes)} of {human_bytes(j.total_bytes)}"
        if j.state == RUNNING:
            text = f"{done} · {human_bytes(j.speed_bps)}/s · {_eta(j.eta_s)} left"
        elif j.state == DONE:
            text = f"Done — {j.model_name} is in My Models" + (f" · {j.verified}"
                                                               if j.verified else "")
        elif j.state == FAILED:
            text = f"Failed: {j.error}"
        else:
            text = f"{j.state.capitalize()} · {done}"
        self.detail.setText(text)
        self.detail.setToolTip(text)
        resume = j.state in (PAUSED, FAILED)
        if self.pause.text() != ("Resume" if resume else "Pause"):
            icons.put(self.pause, "resume" if resume else "pause")
        self.pause.setText("Resume" if resume else "Pause")
        self.pause.setEnabled(j.state in (QUEUED, RUNNING, PAUSED, FAILED))
        finished = j.state in (DONE, CANCELLED)
        self.pause.setVisible(not finished)  # never greyed buttons on a finished job
        self.cancel.setVisible(not finished)
        self.open.setVisible(j.state == DONE and bool(j.model_name))
        self.remove.setVisible(finished)
        self.bar.setVisible(not finished)


class DownloadsView(QWidget):
    open_model_requested = Signal(str)  # a finished job's model: open a chat with it

    def __init__(self, bridge: Bridge, downloads: DownloadManager,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("downloadsView")
        self.setAccessibleName("Downloads")
        self.manager = downloads
        self.rows: dict[int, JobRow] = {}
        self.cleared: set[int] = set()
        heading = QLabel("Downloads")
        heading.setProperty("role", "heading")
        heading.setObjectName("downloadsHeading")
        heading.setAccessibleName("Downloads")
        self.empty = QLabel("Nothing downloading. Find a model in Discover.")
        self.empty.setObjectName("downloadsEmpty")
        self.empty.setAccessibleName("No downloads")
        self.empty.setProperty("role", "muted")
        self.clear = QPushButton("Clear finished")
        self.clear.setObjectName("clearFinished")
        self.clear.setAccessibleName("Clear finished downloads")
        self.clear.clicked.connect(self._clear_finished)
        body = QWidget()
        body.setObjectName("downloadsBody")
        self.list = QVBoxLayout(body)
        self.list.addWidget(self.empty)
        self.list.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("downloadsScroll")
        scroll.setAccessibleName("Download list")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.list.setSpacing(10)
        head = QHBoxLayout()
        head.addWidget(heading, 1)
        head.addWidget(self.clear)
        layout = QVBoxLayout(self)
        theme.page_margins(layout)
        layout.addLayout(head)
        layout.addWidget(scroll, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.manager.add_listener(bridge.relay(self._on_job))
        self.refresh()

    def _on_job(self, job: DownloadJob) -> None:
        if job.id not in self.rows:
            self.refresh()

    def _clear_finished(self) -> None:
        for job_id, row in list(self.rows.items()):
            if row.job.state in (DONE, CANCELLED):
                self.remove_row(job_id)

    def remove_row(self, job_id: int) -> None:
        """Take a finished job off the list (its model stays in My Models)."""
        row = self.rows.pop(job_id, None)
        if row is not None:
            row.deleteLater()
            self.cleared.add(job_id)
        self.refresh()

    def refresh(self) -> None:
        for job in self.manager.jobs():
            row = self.rows.get(job.id)
            if job.id in self.cleared:
                continue
            if row is None and not (job.state == CANCELLED and job.done_bytes == 0):
                row = JobRow(job, self.manager, self.open_model_requested.emit,
                             self.remove_row)
                self.rows[job.id] = row
                self.list.insertWidget(self.list.count() - 1, row)
            if row is not None:
                row.refresh()
        self.empty.setVisible(not self.rows)
