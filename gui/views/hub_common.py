"""What Discover, Downloads and My Models share: the download queue's making, badges.

The composition root makes one queue per window (:func:`make_downloads`; paused and its
threads joined when the bridge shuts down) and hands it to Discover and Downloads, so both see
the same jobs without a module-level singleton.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)
from superqt import QElidingLabel

from fireside.core.hub.common import HubConfig
from fireside.core.hub.licenses import LicenseClass
from fireside.core.hub.manager import QUEUED, RUNNING, DownloadManager
from fireside.core.units import human_bytes
from fireside.gui import theme

__all__ = ["badge", "chip", "fit_color", "human_bytes", "hub_config", "license_color",
           "make_downloads", "stop_downloads"]

if TYPE_CHECKING:
    from fireside.gui.bridge import Bridge

log = logging.getLogger("fireside.gui.hub")
# A fit verdict's chip takes the colours of the license class that reads the same way.
FIT_KINDS = {"fits": "commercial", "tight": "conditions", "too big": "noncommercial",
             "unknown": "unknown", "installed": "commercial"}
LICENSE_KINDS = {klass.value for klass in LicenseClass}


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


def chip_kind(kind: str) -> str:
    """The token family (``chip_<family>_bg/fg``) for a license class or fit verdict."""
    if kind in LICENSE_KINDS or kind == "neutral":
        return kind
    return FIT_KINDS.get(kind, "unknown")


def chip(text: str, kind: str, tooltip: str = "", name: str = "chip",
         accessible: str = "", elide: bool = False) -> QLabel:
    """A small rounded label coloured by ``kind`` (a license class, a fit verdict, "neutral");
    the style sheet draws it from the theme's chip tokens, readable in both themes. An eliding
    chip ends in "…" where its row is narrow (a card in an 800 px window) instead of pushing
    the row wider."""
    label = QElidingLabel(text) if elide else QLabel(text)
    if elide:  # QElidingLabel measures its contents margins, not a style sheet's padding
        label.setProperty("elide", "true")
        label.setContentsMargins(9, 2, 9, 2)
    label.setObjectName(name)
    label.setAccessibleName(accessible or text)
    label.setProperty("chip", kind if kind in FIT_KINDS or kind in LICENSE_KINDS
                      or kind == "neutral" else "unknown")
    if tooltip:
        label.setToolTip(tooltip)
    return label


CHIP_ROLE = Qt.ItemDataRole.UserRole + 1  # a cell's chip kind, for ChipDelegate


class ChipDelegate(QStyledItemDelegate):
    """Paints a table cell's text as a chip (rounded, tinted by the kind in ``CHIP_ROLE``),
    so a table shows size and fit like the cards do while its items keep their text for tests
    and screen readers."""

    PAD_X, HEIGHT = 9, 20

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        kind = index.data(CHIP_ROLE)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if not kind or not text:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""  # the background and selection only; the chip is drawn below
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        family = chip_kind(str(kind))
        colors = theme.current()
        font = QFont(opt.font)
        font.setPixelSize(int(theme.tokens()["type"]["small_px"]))
        font.setWeight(QFont.Weight.DemiBold)
        metrics = QFontMetrics(font)
        rect: QRect = opt.rect
        width = min(metrics.horizontalAdvance(text) + 2 * self.PAD_X, rect.width() - 8)
        chip_rect = QRect(rect.left() + 6, rect.center().y() - self.HEIGHT // 2 + 1,
                          width, self.HEIGHT)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colors.token(f"chip_{family}_bg")))
        painter.drawRoundedRect(chip_rect, self.HEIGHT / 2, self.HEIGHT / 2)
        painter.setPen(QColor(colors.token(f"chip_{family}_fg")))
        painter.setFont(font)
        painter.drawText(chip_rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,  # noqa: N802 - Qt's name
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        if not index.data(CHIP_ROLE):
            return hint
        font = QFont(option.font)
        font.setPixelSize(int(theme.tokens()["type"]["small_px"]))
        font.setWeight(QFont.Weight.DemiBold)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        width = QFontMetrics(font).horizontalAdvance(text) + 2 * self.PAD_X + 14
        return QSize(max(hint.width(), width), max(hint.height(), self.HEIGHT + 10))


def badge(text: str, klass: str, tooltip: str = "", elide: bool = False) -> QLabel:
    """The license chip: ``klass`` is a :class:`LicenseClass` value."""
    return chip(text, klass, tooltip, name="licenseBadge", accessible=f"License: {text}",
                elide=elide)


def license_color(klass: str) -> QColor:
    """Text colour for a license class, on the theme's base background."""
    return QColor(theme.current().token(f"chip_{chip_kind(klass)}_fg"))


def fit_color(verdict: str) -> QColor:
    """Text colour for a fit verdict ("fits", "tight", "too big", "unknown")."""
    return QColor(theme.current().token(f"chip_{chip_kind(verdict)}_fg"))
