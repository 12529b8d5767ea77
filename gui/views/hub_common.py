"""What Discover, Downloads and My Models share: the download queue's making, badges.

The composition root makes one queue per window (:func:`make_downloads`; paused and its
threads joined when the bridge shuts down) and hands it to Discover and Downloads, so both see
the same jobs without a module-level singleton.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from fireside.core.hub.common import HubConfig
from fireside.core.hub.licenses import LicenseClass
from fireside.core.hub.manager import QUEUED, RUNNING, DownloadManager

if TYPE_CHECKING:
    from fireside.gui.bridge import Bridge

log = logging.getLogger("fireside.gui.hub")
BADGE_COLORS: dict[str, str] = {
    LicenseClass.COMMERCIAL.value: "#2f9e44",
    LicenseClass.ATTRIBUTION.value: "#1971c2",
    LicenseClass.CONDITIONS.value: "#e8590c",
    LicenseClass.NONCOMMERCIAL.value: "#c92a2a",
    LicenseClass.UNKNOWN.value: "#868e96",
}
FIT_COLORS = {"fits": "#2f9e44", "tight": "#e8590c", "too big": "#c92a2a", "unknown": "#868e96"}


def hub_config(bridge: Bridge) -> HubConfig:
    return HubConfig.from_settings(bridge.ctx.settings.read().hub)


def make_downloads(bridge: Bridge) -> DownloadManager:
    """A window's download queue; jobs left by the last run come back paused."""
    ctx = bridge.ctx
    parallel = ctx.settings.read().hub.parallel_downloads
    manager = DownloadManager(ctx.library, ctx.paths.downloads, lambda: hub_config(bridge),
                              parallel=max(1, parallel))
    bridge.submit(manager.restore)
    bridge.on_shutdown(lambda: stop_downloads(manager))
    return manager


def stop_downloads(manager: DownloadManager, timeout: float = 10.0) -> None:
    """Pause what runs (bytes kept for the next start) and end the queue's threads.

    Joined, not just signalled: a download thread still running after its window is gone
    could run a garbage collection, or call a listener, while the window is torn down.
    """
    for job in manager.jobs():  # queued ones too, or a worker would start them on its way out
        if job.state in (QUEUED, RUNNING):
            manager.pause(job.id)
    manager.shutdown()
    deadline = time.monotonic() + timeout
    for thread in getattr(manager, "_threads", ()):
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("download thread %s still running after shutdown", thread.name)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def badge(text: str, color: str, tooltip: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("licenseBadge")
    label.setAccessibleName(f"License: {text}")
    label.setStyleSheet(f"QLabel {{ background: {color}; color: white; border-radius: 8px;"
                        " padding: 2px 8px; font-weight: 600; }")
    if tooltip:
        label.setToolTip(tooltip)
    return label


def license_color(klass: str) -> QColor:
    return QColor(BADGE_COLORS.get(klass, BADGE_COLORS["unknown"]))
