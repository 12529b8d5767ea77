"""One search hit in Discover, drawn as a card: name, author, downloads and likes, license chip.

The card is an item widget of Discover's result list (a page holds 20, "More results" adds 20:
one widget per row is fine at that count). The license shows as a chip coloured by its verdict
from the theme's tokens, readable in both themes; the whole row is never tinted. A gated repo
shows a lock icon, not an emoji (fonts without it draw a box).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel

from fireside.core.hub.catalog import RepoSummary
from fireside.core.units import plural
from fireside.gui import icons
from fireside.gui.views.hub_common import badge, chip

ICON_PX = 14


def compact(n: int) -> str:
    """1234 -> 1.2k, 5_600_000 -> 5.6M: card counts stay short."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + suffix
    return str(n)


def _fact(key: str, text: str, tooltip: str, elide: bool = False) -> QWidget:
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(4)
    mark = QLabel()
    mark.setPixmap(icons.icon(key, "muted").pixmap(QSize(ICON_PX, ICON_PX)))
    label = QElidingLabel(text) if elide else QLabel(text)  # a long author gives way
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    label.setProperty("role", "muted")
    row.addWidget(mark)
    row.addWidget(label, 1)
    holder.setToolTip(tooltip)
    return holder


class RepoCard(QFrame):
    """A search hit: ``owner/name`` split into name and author, its counts and license."""

    def __init__(self, summary: RepoSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = summary
        self.setObjectName("repoCard")
        self.setAccessibleName(summary.repo)
        self.setProperty("card", "true")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        author, _, name = summary.repo.rpartition("/")
        col = QVBoxLayout(self)
        col.setContentsMargins(12, 10, 12, 12)
        col.setSpacing(6)
        top = QHBoxLayout()
        top.setSpacing(6)
        self.name = QElidingLabel(name or summary.repo)
        self.name.setObjectName("cardName")
        self.name.setProperty("role", "cardTitle")
        self.name.setToolTip(summary.repo)
        top.addWidget(self.name, 1)
        if summary.gated:
            lock = QLabel()
            lock.setObjectName("gatedIcon")
            lock.setAccessibleName("Gated repository")
            lock.setToolTip("Gated: accept its terms on the Hub to download")
            lock.setPixmap(icons.icon("gated", "warning").pixmap(QSize(16, 16)))
            top.addWidget(lock)
        col.addLayout(top)
        facts = QHBoxLayout()
        facts.setSpacing(14)
        facts.addWidget(_fact("downloads_count", compact(summary.downloads),
                              plural(summary.downloads, "download")))
        facts.addWidget(_fact("likes", compact(summary.likes), plural(summary.likes, "like")))
        # the author last, taking what is left: a long name elides instead of widening the card
        facts.addWidget(_fact("author", author or "—", f"by {author}", elide=True), 1)
        col.addLayout(facts)
        chips = QHBoxLayout()
        chips.setSpacing(6)
        lic = summary.license
        chips.addWidget(badge(lic.label, lic.klass.value, lic.reason, elide=True))
        if summary.gated:
            chips.addWidget(chip("gated", "unknown", "Accept its terms on the Hub first"))
        chips.addStretch(1)
        col.addLayout(chips)

    def set_selected(self, on: bool) -> None:
        self.setProperty("selected", "true" if on else "false")
        self.style().unpolish(self)
        self.style().polish(self)


class CardList(QListWidget):
    """Discover's result list: each card as wide as the list, on every resize.

    A list view in list mode sizes an item from its size hint once; without this a card kept
    the width the list had when it was filled, and a narrower window cut its right edge off.
    """

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit_cards()

    def fit_cards(self) -> None:
        width = max(0, self.viewport().width() - 2 * self.spacing())
        for row in range(self.count()):
            item = self.item(row)
            card = self.itemWidget(item)
            if card is not None:
                item.setSizeHint(QSize(width, card.sizeHint().height()))
